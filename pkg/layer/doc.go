// Package layer is the layer store: layers by chainID, each a diff directory
// holding that layer's files (whiteouts in the store's native form), its
// metadata (diffID, parent chainID, size, source blob digests) and its tar
// headers (tar-split), from which the layer's exact original stream is
// reassembled on demand.
//
// Vocabulary, as in the OCI image spec (config.md):
//   - digest: sha256 of a compressed blob, as a manifest names it;
//   - diffID: sha256 of a layer's uncompressed tar stream;
//   - chainID: the store key; chainID(L0) = diffID(L0),
//     chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
//
// All tar reading goes through Apply and all tar writing through the
// reassembler (and, later, the differ), with the whiteout converter passed in.
// Everything is built under tmp/ and renamed into place, so a layer directory is
// visible under its final name only when complete.
package layer
