package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/atomicfile"
	"github.com/nonstopdev/nonstop/internal/cgroup"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Files in an instance's folder, DIR/ID/.
const (
	stateFile = "state.json"
	logFile   = "output.log"
	lockFile  = "state.lock"
)

// volumesDir is the folder of DIR that holds the volumes, DIR/volumes/APP/NAME;
// it is never an instance ID.
const volumesDir = "volumes"

// record is what state.json holds: enough for a later run of the control
// plane to find, adopt, restart or stop the instance. It holds the app's
// environment, so the file is 0600 in a 0700 folder.
type record struct {
	Spec       runtime.InstanceSpec `json:"spec"`
	Port       int                  `json:"port"`
	Addr       string               `json:"addr"`
	PID        int                  `json:"pid"`
	StartTicks uint64               `json:"start_ticks"` // /proc/PID/stat field 22: tells our process from a reused PID
	BootID     string               `json:"boot_id"`     // a PID from another boot is never ours
	StartedAt  time.Time            `json:"started_at"`
	Restarts   int                  `json:"restarts"`
	Stopped    bool                 `json:"stopped"`          // stopped on purpose: never restarted nor adopted
	Cgroup     *cgroup.Group        `json:"cgroup,omitempty"` // the group that caps it to its limits; nil: uncapped
}

func (rec record) instance() runtime.Instance {
	return runtime.Instance{
		ID:        rec.Spec.ID,
		App:       rec.Spec.App,
		Release:   rec.Spec.Release,
		Addr:      rec.Addr,
		PID:       rec.PID,
		StartedAt: rec.StartedAt,
	}
}

func (r *Runtime) instDir(id string) string { return filepath.Join(r.dir, id) }

// loadRecord reads DIR/ID/state.json; runtime.ErrNotFound when there is none.
func (r *Runtime) loadRecord(id string) (record, error) {
	b, err := os.ReadFile(filepath.Join(r.instDir(id), stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, runtime.ErrNotFound
	}
	if err != nil {
		return record{}, fmt.Errorf("read state: %w", err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, fmt.Errorf("read state of %s: %w", id, err)
	}
	return rec, nil
}

// saveRecord writes DIR/ID/state.json atomically.
func (r *Runtime) saveRecord(rec record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(r.instDir(rec.Spec.ID), stateFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// lockState takes an exclusive lock on DIR/ID/state.lock. It serialises the
// read-modify-write of state.json between goroutines and between processes
// (a server and `nonstop shutdown`), so a stop recorded by one is never
// overwritten by a restart in another.
func (r *Runtime) lockState(id string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(r.instDir(id), lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	fd := int(f.Fd())
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state: %w", err)
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// validID reports whether id can name an instance folder: a validName
// other than volumesDir.
func validID(id string) bool { return id != volumesDir && validName(id) }

// validName reports whether s can name a folder: letters, digits, '.', '_'
// and '-', not starting with '.', at most 128 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')
	}) < 0
}

func readBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
