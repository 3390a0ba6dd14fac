package ns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// SaveProgram keeps a copy of the embedded init program in the store at
// root, so that later init steps run it through a sealed overlay instead of
// copying it into a memfd at each start (see pkg/ns/prespawn's cache.go).
// The copy is made in tmp (the store's), synced and renamed into place
// whole; copies of other programs (other layerctl builds) are removed.
// Nothing to do when the copy is there (one stat) or the binary embeds no
// program.
func SaveProgram(root, tmp string) error {
	cache := prespawn.CacheDir(root)
	entry := prespawn.ProgramEntry(cache)
	if entry == "" || programSaved(entry) {
		return nil
	}
	if err := saveProgram(cache, entry, tmp); err != nil {
		return fmt.Errorf("keep the init program in %s: %w", cache, err)
	}
	return nil
}

// programSaved tells whether entry holds the program whole: written as a
// file of its size by one rename, it is the program.
func programSaved(entry string) bool {
	fi, err := os.Lstat(filepath.Join(entry, prespawn.Arg0))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(prespawn.Program))
}

func saveProgram(cache, entry, tmp string) error {
	for _, d := range []string{cache, prespawn.EmptyDir(cache)} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	stage, err := os.MkdirTemp(tmp, "program-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage) // gone by the rename, unless it failed
	f, err := os.OpenFile(filepath.Join(stage, prespawn.Arg0), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o500)
	if err != nil {
		return err
	}
	err = prespawn.WriteProgram(int(f.Fd()))
	if err == nil {
		err = f.Chmod(0o555)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(stage, entry); err != nil {
		if programSaved(entry) {
			return nil // another layerctl saved it meanwhile
		}
		// Not made by a rename of ours: damaged. Replaced.
		if err := os.RemoveAll(entry); err != nil {
			return err
		}
		if err := os.Rename(stage, entry); err != nil {
			return err
		}
	}
	pruneOtherPrograms(cache, filepath.Base(entry))
	return nil
}

// pruneOtherPrograms removes the copies of programs other than keep: an
// init step already running one holds it open through its overlay.
func pruneOtherPrograms(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		if name := e.Name(); name != keep && prespawn.IsDigest(name) {
			os.RemoveAll(filepath.Join(cache, name))
		}
	}
}
