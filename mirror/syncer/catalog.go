package syncer

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
)

// catalog is what a repository's runs know about the packages they put
// in the pool: for each, by sha256, its metadata as parsed when it was
// verified (valid for one set of parse options, the catalog's key), and
// for candidates without a sha256 checksum the identity they were
// fetched under. It lives in the repository's cache directory:
//
//	index.zst   the packages of the last run that got that far, written
//	            whole, atomically, at the end of the fetch phase (a gob
//	            stream: ten times faster to read back than JSON, and it
//	            is read by every run that lists packages)
//	journal     entries appended by the run in progress, one JSON line
//	            per verified package; folded into the index at the end
//
// Why not a metadata file per pooled package: creating a file is the
// most expensive thing a sync does on a local file system (ext4 scans
// for recently freed inodes on every create), and a sync of a new
// repository did it for every package. The journal is appended without
// fsync: a process killed mid-run loses nothing (the page cache
// survives), a machine that crashes loses at most the journal's tail,
// and a pooled package the catalog does not know is parsed again from
// the local copy, never downloaded again (except a candidate without a
// sha256, whose identity is then unknown).
//
// Contract: methods are safe for concurrent use; a catalog belongs to
// one run of one repository (the repository's flock guards it).
type catalog struct {
	dir string
	key string // the parse options the metadata is valid for

	mu      sync.Mutex
	bySum   map[string]*repodata.Package
	byID    map[string]string // identity -> sha256
	journal *os.File          // nil until the first record, and read-only catalogs
	jerr    error             // sticky: the first failed journal write
	ro      bool
}

// catalogEntry is one line of the index and the journal.
type catalogEntry struct {
	Sum string `json:"sum"`
	// ID is the candidate's identity when it has no sha256 checksum.
	ID string `json:"id,omitempty"`
	// Key says which parse options Pkg was parsed with.
	Key string            `json:"key"`
	Pkg *repodata.Package `json:"pkg"`
}

const (
	catalogIndex   = "index.zst"
	catalogJournal = "journal"
	// maxCatalogLine bounds one entry (a package with a huge file list
	// is a few MiB of JSON).
	maxCatalogLine = 256 << 20
)

// openCatalog loads the catalog of the repository directory dir for the
// parse options key. An unreadable index or journal is not an error:
// it only costs local reparses. A read-only catalog never writes.
func openCatalog(dir, key string, readOnly bool) (*catalog, error) {
	c := &catalog{dir: dir, key: key, bySum: map[string]*repodata.Package{}, byID: map[string]string{}, ro: readOnly}
	if f, err := os.Open(filepath.Join(dir, catalogIndex)); err == nil {
		zr, err := compress.NewReader(f, compress.Zstd, compress.ReaderOptions{})
		if err == nil {
			c.loadIndex(zr)
			zr.Close()
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if f, err := os.Open(filepath.Join(dir, catalogJournal)); err == nil {
		c.load(f)
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
}

// catalogVersion starts the index; another value is an index of another
// format, ignored.
const catalogVersion = "rpmirror-catalog-1"

// loadIndex adds the entries of an index, stopping at the first that
// does not decode.
func (c *catalog) loadIndex(r io.Reader) {
	dec := gob.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var version string
	if dec.Decode(&version) != nil || version != catalogVersion {
		return
	}
	for {
		var e catalogEntry
		if dec.Decode(&e) != nil || len(e.Sum) != 64 {
			return
		}
		c.add(&e)
	}
}

// load adds the journal entries read from r, stopping at the first line
// that does not decode (the torn tail of a journal).
func (c *catalog) load(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxCatalogLine)
	for sc.Scan() {
		var e catalogEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || len(e.Sum) != 64 {
			return
		}
		c.add(&e)
	}
}

func (c *catalog) add(e *catalogEntry) {
	if e.ID != "" {
		c.byID[e.ID] = e.Sum
	}
	if e.Key == c.key && e.Pkg != nil && e.Pkg.Name != "" {
		c.bySum[e.Sum] = e.Pkg
	}
}

// sum returns the sha256 a candidate identity was last verified with, or "".
func (c *catalog) sum(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[id]
}

// pkg returns the metadata of the package with this sha256, or nil.
func (c *catalog) pkg(sum string) *repodata.Package {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySum[sum]
}

// record notes a verified package; id is "" for a candidate with a
// sha256 checksum. The entry is in the journal when record returns nil.
func (c *catalog) record(sum, id string, pkg *repodata.Package) error {
	e := catalogEntry{Sum: sum, ID: id, Key: c.key, Pkg: pkg}
	b, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(&e)
	if c.ro {
		return nil
	}
	if c.jerr != nil {
		return c.jerr
	}
	if c.journal == nil {
		c.journal, err = os.OpenFile(filepath.Join(c.dir, catalogJournal), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			c.jerr = fmt.Errorf("catalog: %w", err)
			return c.jerr
		}
	}
	// One write per entry: O_APPEND keeps a line whole, and a kill
	// between two writes leaves whole lines.
	if _, err := c.journal.Write(b); err != nil {
		c.jerr = fmt.Errorf("catalog: journal: %w", err)
		return c.jerr
	}
	return nil
}

// commit replaces the index with exactly the given packages (the ones
// the repository holds now) and empties the journal. Entries of
// packages that left the repository are dropped; should they come back,
// their pooled copies are parsed again.
func (c *catalog) commit(entries []catalogEntry) error {
	if c.ro {
		return nil
	}
	err := writeFileAtomicFunc(filepath.Join(c.dir, catalogIndex), func(w io.Writer) error {
		// The fastest level: the index is rewritten by every run that
		// fetches, and read back once per run; size hardly matters.
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return err
		}
		enc := gob.NewEncoder(zw)
		if err := enc.Encode(catalogVersion); err != nil {
			zw.Close()
			return err
		}
		for i := range entries {
			entries[i].Key = c.key
			if err := enc.Encode(&entries[i]); err != nil {
				zw.Close()
				return err
			}
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.journal != nil {
		c.journal.Close()
		c.journal = nil
	}
	c.jerr = nil
	if err := os.Remove(filepath.Join(c.dir, catalogJournal)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// close releases the journal; what it holds stays for the next run.
func (c *catalog) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.journal != nil {
		c.journal.Close()
		c.journal = nil
	}
}
