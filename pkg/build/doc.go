// Package build builds images from Dockerfiles over the store facade: each
// instruction becomes a config change (an empty_layer history entry) or a
// layer, RUN through the same create -> run -> commit path as the CLI.
// Parsing and variable expansion are BuildKit's.
package build
