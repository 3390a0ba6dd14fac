// Package image moves images between transports and the store: registry
// references, OCI image layouts ("oci:DIR[:TAG]") and "docker save" archives
// ("docker-archive:FILE[:NAME:TAG]"), all read through go-containerregistry.
//
// An image record (images/<config hex>.json) names an image by its ID, the
// digest of its config, as Docker does, and lists its layers by diffID and
// chainID. refs.json maps names (registry/repository:tag) to image IDs.
//
// A pull verifies every blob while it streams: a compressed layer against the
// manifest's digest and size, the uncompressed stream against the config's
// diffID (in pkg/layer), the config against the manifest. Layer tars go to
// pkg/layer; this package never extracts anything itself.
//
// A source may be hostile. A manifest, index or config is read whole, so
// none may be (or claim to be) larger than 4 MiB; a registry request follows
// at most 10 redirects, and every wait on a registry (connect, TLS, response
// headers, each read of a body) has a timeout (Timeouts).
package image
