package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on Linux for every architecture Go runs on).
const clockTicks = 100

// procCPU is the user+system CPU time the process has used.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// procStatus returns a kB field of /proc/<pid>/status in bytes.
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, rest, ok := strings.Cut(sc.Text(), ":"); ok && name == field {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// startProfile fetches a CPU profile of d from sentry's pprof port into
// file, in the background. The returned func waits for it.
func startProfile(port, file string, d time.Duration) func() error {
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%s/debug/pprof/profile?seconds=%d", port, int(math.Ceil(d.Seconds()))))
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		errc <- err
	}()
	return func() error { return <-errc }
}

// cpuStat is the machine-wide CPU time counters of /proc/stat's "cpu"
// line, in clock ticks summed over the CPUs.
type cpuStat struct{ total, idle, steal int64 }

func readCPUStat() cpuStat {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	var st cpuStat
	for i, f := range fields[1:] {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		st.total += n
		switch i {
		case 3, 4: // idle, iowait
			st.idle += n
		case 7:
			st.steal = n
		}
	}
	return st
}

// cpuDelta is the machine's CPU time over an interval, summed over the CPUs.
type cpuDelta struct{ total, busy, steal time.Duration }

func (c cpuStat) since(start cpuStat) cpuDelta {
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }
	return cpuDelta{
		total: tick(c.total - start.total),
		busy:  tick((c.total - c.idle - c.steal) - (start.total - start.idle - start.steal)),
		steal: tick(c.steal - start.steal),
	}
}

func (d *cpuDelta) add(o cpuDelta) { d.total += o.total; d.busy += o.busy; d.steal += o.steal }

// stealShare is the share of the machine's CPU time stolen by the hypervisor.
func (d cpuDelta) stealShare() float64 {
	if d.total <= 0 {
		return 0
	}
	return float64(d.steal) / float64(d.total)
}

// resetPeakRSS resets the process's VmHWM to its current RSS (Linux >= 4.0),
// so that VmHWM read later is the peak since now. It reports whether it could.
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// startClientProfile profiles this process into file until the returned
// func is called.
func startClientProfile(file string) (func(), error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
