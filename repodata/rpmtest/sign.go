package rpmtest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/openpgp"
	"golang.org/x/crypto/openpgp/armor"
	"golang.org/x/crypto/openpgp/packet"
)

// Key is an OpenPGP RSA signing key for test packages.
//
// The key is derived from a fixed seed by this package's own code, so
// signed packages are byte-for-byte reproducible across runs and machines
// (crypto/rsa.GenerateKey is not: it ignores its random source). The
// private key is therefore public knowledge: never trust it for anything
// but tests.
type Key struct {
	seed    string
	uid     string
	created time.Time
	signed  time.Time

	once   sync.Once
	entity *openpgp.Entity
	err    error
}

var testKey = &Key{
	seed:    "rpmirror rpmtest package signing key v1",
	uid:     "rpmirror test key (DO NOT TRUST) <rpmtest@rpmirror.invalid>",
	created: time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC),
	signed:  time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC),
}

// TestKey returns the package's fixed test key. The key material is
// derived on first use (a fraction of a second) and shared.
func TestKey() *Key { return testKey }

func (k *Key) load() (*openpgp.Entity, error) {
	k.once.Do(func() {
		k.entity, k.err = k.derive()
		if k.err != nil {
			k.err = fmt.Errorf("rpmtest: derive test key: %w", k.err)
		}
	})
	return k.entity, k.err
}

// config pins the time (and so the signature bytes: RSA PKCS #1 v1.5
// signatures are deterministic) and the hash.
func (k *Key) config(now time.Time) *packet.Config {
	return &packet.Config{DefaultHash: crypto.SHA256, Time: func() time.Time { return now }}
}

func (k *Key) derive() (*openpgp.Entity, error) {
	priv, err := deterministicRSA(k.seed, 2048)
	if err != nil {
		return nil, err
	}
	e := &openpgp.Entity{
		PrimaryKey: packet.NewRSAPublicKey(k.created, &priv.PublicKey),
		PrivateKey: packet.NewRSAPrivateKey(k.created, priv),
		Identities: map[string]*openpgp.Identity{},
	}
	uid := packet.NewUserId("rpmirror test key", "DO NOT TRUST", "rpmtest@rpmirror.invalid")
	if uid == nil || uid.Id != k.uid {
		return nil, errors.New("bad user id")
	}
	primary := true
	self := &packet.Signature{
		CreationTime: k.created,
		SigType:      packet.SigTypePositiveCert,
		PubKeyAlgo:   packet.PubKeyAlgoRSA,
		Hash:         crypto.SHA256,
		IsPrimaryId:  &primary,
		FlagsValid:   true,
		FlagSign:     true,
		FlagCertify:  true,
		IssuerKeyId:  &e.PrimaryKey.KeyId,
	}
	if err := self.SignUserId(uid.Id, e.PrimaryKey, e.PrivateKey, k.config(k.created)); err != nil {
		return nil, err
	}
	e.Identities[uid.Id] = &openpgp.Identity{Name: uid.Id, UserId: uid, SelfSignature: self}
	return e, nil
}

// Sign returns a detached binary OpenPGP v4 signature of data made at a
// fixed time (2024-01-01), as rpmsign stores it in the RSA and PGP
// signature tags. It is a SignFunc.
func (k *Key) Sign(data []byte) ([]byte, error) {
	e, err := k.load()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := openpgp.DetachSign(&buf, e, bytes.NewReader(data), k.config(k.signed)); err != nil {
		return nil, fmt.Errorf("rpmtest: sign: %w", err)
	}
	return buf.Bytes(), nil
}

// PublicKey returns the ASCII-armored public key, for rpm --import or a
// dnf repository's gpgkey.
func (k *Key) PublicKey() ([]byte, error) {
	e, err := k.load()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("rpmtest: serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// KeyID returns the 64-bit OpenPGP key ID; rpm names the imported key
// gpg-pubkey-<low 32 bits in hex>.
func (k *Key) KeyID() (uint64, error) {
	e, err := k.load()
	if err != nil {
		return 0, err
	}
	return e.PrimaryKey.KeyId, nil
}

// deterministicRSA derives an RSA key of the given size from seed: each
// prime is the first probable prime at or after a number drawn from a
// SHA-256 counter stream, with its top two bits set so that the modulus
// has exactly bits bits.
func deterministicRSA(seed string, bits int) (*rsa.PrivateKey, error) {
	var counter uint64
	next := func(n int) []byte {
		var out []byte
		for len(out) < n {
			h := sha256.New()
			h.Write([]byte(seed))
			h.Write(binary.BigEndian.AppendUint64(nil, counter))
			counter++
			out = h.Sum(out)
		}
		return out[:n]
	}
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func() *big.Int {
		for {
			b := next(bits / 16)
			b[0] |= 0xc0
			b[len(b)-1] |= 1
			p := new(big.Int).SetBytes(b)
			for !p.ProbablyPrime(32) {
				p.Add(p, big.NewInt(2))
			}
			pm1 := new(big.Int).Sub(p, one)
			if new(big.Int).GCD(nil, nil, e, pm1).Cmp(one) == 0 && p.BitLen() == bits/2 {
				return p
			}
		}
	}
	p, q := prime(), prime()
	if p.Cmp(q) == 0 {
		return nil, errors.New("equal primes")
	}
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		return nil, errors.New("no inverse")
	}
	priv := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	priv.Precompute()
	if err := priv.Validate(); err != nil {
		return nil, err
	}
	return priv, nil
}
