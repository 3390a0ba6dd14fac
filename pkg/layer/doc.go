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
// reassembler and the differ, with the whiteout converter passed in. All
// reading of diff dirs as a stack (what a layer adds, modifies and deletes;
// the merged view; a path as the layers show it) goes through one change
// walker, WalkChanges.
// Everything is built under tmp/ and renamed into place, so a layer directory is
// visible under its final name only when complete.
//
// Locking: an open Store holds the store lock shared, and gc takes it
// exclusively, so gc never runs beside another command. A pull opens the
// store with NoHold and takes the lock only around local steps (Shared):
// while it waits on a registry, its staging dirs under tmp/ are flocked and
// its layers leased (leases/), so that gc neither waits for it nor removes
// what it is building. Per-layer flocks under locks/ make two pulls of one
// layer extract it once.
package layer
