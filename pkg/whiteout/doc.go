// Package whiteout knows the whiteout vocabulary of the OCI image layer format
// and its native forms on disk.
//
// In a layer tar (OCI image spec, layer.md, which follows aufs):
//   - a file ".wh.NAME" deletes NAME of the lower layers;
//   - a file "DIR/.wh..wh..opq" hides every lower child of DIR;
//   - other ".wh..wh.*" names are aufs internals that never belong in a tar.
//
// On disk each union driver has its own form. overlayfs
// (Documentation/filesystems/overlayfs.rst) marks a deletion with a character
// device 0/0 named NAME and an opaque directory with the xattr
// "trusted.overlay.opaque=y" ("user.overlay.*" when mounted with userxattr).
// aufs and the copy-based vfs driver keep the ".wh." files as they are.
//
// A Converter turns the tar form into one native form and back. A store records
// its driver's form when it is created and picks the converter from that
// record; nothing else in layerctl spells ".wh.".
package whiteout
