// Package union describes union mounts: a driver (overlay, aufs, vfs) turns
// an ordered list of layer directories plus an upper and a work dir into a
// mount described as data, and one function performs a description. This
// file set also probes the kernel for what it supports, once.
package union
