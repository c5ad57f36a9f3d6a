package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procStat is what this package reads of /proc/PID/stat.
type procStat struct {
	state      byte   // field 3: R, S, D, Z (zombie), X (dead), ...
	pgrp       int    // field 5
	startTicks uint64 // field 22: start time, in clock ticks after boot
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStat parses a /proc/PID/stat line. The command name (field 2) is in
// parentheses and may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStat(b []byte) (procStat, error) {
	if bytes.LastIndexByte(b, ')') < 0 {
		return procStat{}, errors.New("parse /proc stat: no command name")
	}
	f, ok := statFields(b) // f[0] is field 3
	if !ok || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parse /proc stat: %d fields", len(f)+2)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat: pgrp: %w", err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat: starttime: %w", err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, startTicks: start}, nil
}

func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

func dead(state byte) bool { return state == 'Z' || state == 'X' }

// pollExit reports whether the process pid that started at startTicks has
// exited, without blocking. When this process is its parent it reaps it and
// returns its exit code; otherwise the code is -1. A zombie counts as exited:
// an orphan whose reaper is slow (or absent) is dead all the same.
func pollExit(pid int, startTicks uint64) (exited bool, code int) {
	st, err := readStat(pid)
	switch {
	case gone(err):
		return true, -1
	case err != nil: // /proc unreadable: ask the kernel whether the PID exists
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return true, -1
		}
		st = procStat{startTicks: startTicks}
	case st.startTicks != startTicks:
		return true, -1 // the PID now names another process
	}
	// The start time matches, so if pid is our child it is this very process.
	var ws syscall.WaitStatus
	for {
		wpid, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err == nil && wpid == pid {
			return true, exitCode(ws)
		}
		break // 0: our child, running; ECHILD: not our child
	}
	if dead(st.state) {
		return true, -1
	}
	return false, 0
}

// exitCode is the shell's view of a wait status: the exit status, or 128+N
// for a process killed by signal N.
func exitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}

// groupOwned reports whether signalling process group pid reaches the group
// of the instance process pid that started at startTicks. It is false when
// the PID now names another process. When no process has the PID, any group
// numbered pid is still ours: Linux does not reuse a PID while a process
// group of that number has members.
func groupOwned(pid int, startTicks uint64) bool {
	if pid <= 1 {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		return gone(err) || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	return st.startTicks == startTicks
}

// signalGroup sends sig to every process of group pgid; a group that has no
// members left is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return nil
	}
	err := syscall.Kill(-pgid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal group %d: %w", pgid, err)
	}
	return nil
}

// groupMembers returns the live (not zombie) processes of group pgid.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.pgrp == pgid && !dead(st.state) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killNow SIGKILLs the group of a process this runtime just started and
// reaps it: the undo of a Start that failed after the process existed.
func killNow(pid int, startTicks uint64) {
	if groupOwned(pid, startTicks) {
		_ = signalGroup(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(killWait)
	for time.Now().Before(deadline) {
		if exited, _ := pollExit(pid, startTicks); exited {
			return
		}
		time.Sleep(stopPoll)
	}
}

// alive reports whether rec's process is still running: same boot, same
// PID, same start time, not a zombie.
func (r *Runtime) alive(rec record) bool {
	if rec.PID <= 1 || rec.BootID != "" && r.bootID != "" && rec.BootID != r.bootID {
		return false
	}
	exited, _ := pollExit(rec.PID, rec.StartTicks)
	return !exited
}
