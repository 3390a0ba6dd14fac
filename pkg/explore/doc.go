// Package explore tells what each layer of an image adds, modifies and
// deletes, what the image wastes, and its history, all read from the store
// (the change walker of pkg/layer through the store facade). It only reads
// and needs no root beyond read access to the store.
//
// Definitions (the README repeats them): a change of path P in a layer is
// added (no lower layer shows P), modified (one does) or deleted (a whiteout
// or an opaque dir hides it). Wasted bytes are the bytes of every copy of a
// file that the final image does not show, each hidden copy once; the copy
// the image shows is never waste. Efficiency is (total - wasted) / total.
// User bytes are those of the layers above the base image.
package explore
