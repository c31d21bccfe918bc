// Package imagebuild builds the container images Skiff's tests and nodes use
// (pause, busybox, testapp) as OCI image layout tarballs, with no downloads.
//
// The pieces:
//
//	Layer   one filesystem layer, built from File entries (regular files,
//	        directories, symlinks) with fixed modification times, so the same
//	        inputs always give the same digests
//	Image   a config (entrypoint, env, ...) plus layers
//	Write   writes an Image as an OCI image layout tar (oci-layout,
//	        index.json, blobs/sha256/...) with one index entry per tag,
//	        annotated with org.opencontainers.image.ref.name and
//	        io.containerd.image.name (the full reference, which containerd's
//	        importer uses as the image name)
//	Build   compiles images/pause and images/testapp, lays out busybox from
//	        the host's static /bin/busybox, and writes pause.tar, busybox.tar
//	        and testapp.tar into a directory (what `make images` runs)
//
// Only build tools (images/build) and tests may import this package. Its
// functions are safe for concurrent use; they share no state.
package imagebuild
