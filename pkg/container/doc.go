// Package container is the store's facade: Open opens a store as a whole
// (its layer, image and container stores together), and a Store offers
// what a program needs of it: Pull and Push, ResolveImage, ResolveLayer(s)
// and Resolve (a container), Create, Start, Run, StartDetached, Commit,
// RemoveImage, GC, Verify, and the lists behind them. The command line and
// the builder use nothing else; a program that starts containers also
// calls ns.Init first thing in main, as the init step's entry.
//
// A container is an image's read-only layers, a per-container -init layer
// (/etc/hosts, /etc/resolv.conf, /etc/hostname and empty mountpoints) and
// a read-write layer, stacked by the store's union driver at
// containers/<id>/merged.
//
// Only the read-write layer is the container's own change: diff walks it
// alone, so its cost follows the change, not the rootfs.
package container
