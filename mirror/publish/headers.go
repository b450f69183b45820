package publish

import (
	"path"
	"strings"
)

// Cache-Control values of the objects of a publication.
const (
	// CacheNoCache is for the objects that change in place: repomd.xml,
	// its signature and key, and metadata files whose names do not
	// contain their checksum. Caches may keep them but must revalidate.
	CacheNoCache = "no-cache"
	// CacheImmutable is for checksum-named metadata files: a name always
	// means the same bytes.
	CacheImmutable = "public, max-age=31536000, immutable"
	// DefaultPackageCacheControl is the default for packages: their names
	// are not content-addressed (a package can be re-signed under the
	// same name), so they get a bounded max-age.
	DefaultPackageCacheControl = "public, max-age=3600"
)

// ContentType returns the Content-Type an object is served with, by the
// suffix of its key. Compressed metadata is typed by its compression and
// never given a Content-Encoding: dnf downloads the file as stored and
// checks the checksum of the compressed bytes.
func ContentType(key string) string {
	switch path.Ext(key) {
	case ".xml":
		return "application/xml"
	case ".gz":
		return "application/gzip"
	case ".zst":
		return "application/zstd"
	case ".xz":
		return "application/x-xz"
	case ".bz2":
		return "application/x-bzip2"
	case ".rpm":
		return "application/x-rpm"
	case ".asc":
		return "application/pgp-signature"
	case ".key":
		return "application/pgp-keys"
	}
	return "application/octet-stream"
}

// checksumNamed reports whether a metadata file's name starts with its
// checksum, as createrepo_c's --unique-md-filenames names them
// ("<checksum>-primary.xml.gz"): such a file never changes in place.
func checksumNamed(href, checksum string) bool {
	return checksum != "" && strings.HasPrefix(path.Base(href), checksum+"-")
}
