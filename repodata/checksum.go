package repodata

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// NewHash returns a hash for a checksum type as rpm-md names it: sha1,
// sha224, sha256, sha384 or sha512 ("sha" is old yum's name for sha1).
// md5 is deliberately absent: nothing may be verified with it.
func NewHash(typ string) (hash.Hash, error) {
	switch typ {
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	case "sha1", "sha":
		return sha1.New(), nil
	case "sha224":
		return sha256.New224(), nil
	case "sha384":
		return sha512.New384(), nil
	}
	return nil, fmt.Errorf("repodata: unsupported checksum type %q (want sha1, sha224, sha256, sha384 or sha512)", typ)
}
