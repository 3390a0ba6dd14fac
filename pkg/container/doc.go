// Package container makes containers of images: a container is an image's
// read-only layers, a per-container -init layer (/etc/hosts,
// /etc/resolv.conf, /etc/hostname and empty mountpoints) and a read-write
// layer, stacked by the store's union driver at containers/<id>/merged.
//
// Only the read-write layer is the container's own change: diff walks it
// alone, so its cost follows the change, not the rootfs.
package container
