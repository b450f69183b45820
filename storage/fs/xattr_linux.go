package fs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// xattrSHA256 holds "<sha256 hex> <size> <mtime in Unix ns>". The size and
// modification time are those of the file when the attribute was set: a
// file rewritten in place later (cp onto it keeps its xattrs) no longer
// matches them, and Stat then reports no SHA-256 rather than a stale one.
const xattrSHA256 = "user.rpmirror.sha256"

// setSHA256 records sha on f, whose content is complete (size bytes).
// A file system without user xattrs is not an error.
func setSHA256(f *os.File, sha string, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("file has %d bytes, want %d", fi.Size(), size)
	}
	val := []byte(sha + " " + strconv.FormatInt(size, 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10))
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fsetxattr(int(fd), xattrSHA256, val, 0) }); err != nil {
		return err
	}
	if serr != nil && !unsupported(serr) {
		return fmt.Errorf("set xattr %s: %w", xattrSHA256, serr)
	}
	return nil
}

// getSHA256 returns the SHA-256 recorded on the file name whose current
// state is fi, or "" when there is none or it is stale.
func getSHA256(name string, fi os.FileInfo) string {
	var buf [128]byte
	n, err := unix.Getxattr(name, xattrSHA256, buf[:])
	if err != nil || n <= 0 {
		return ""
	}
	f := strings.Fields(string(buf[:n]))
	if len(f) != 3 || !validSHA256(f[0]) {
		return ""
	}
	if f[1] != strconv.FormatInt(fi.Size(), 10) || f[2] != strconv.FormatInt(fi.ModTime().UnixNano(), 10) {
		return ""
	}
	return f[0]
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}
