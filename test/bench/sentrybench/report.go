package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// agg is one server's measurements in one phase, over all its slices.
type agg struct {
	signs       int
	window      time.Duration
	cpu         time.Duration // the server's
	clientCPU   time.Duration // this process's
	machine     cpuDelta
	latencies   []time.Duration
	rounds      []float64 // signs/s of each slice, in round order
	peakRSS     int64     // VmHWM after the phase
	peakIsPhase bool      // VmHWM was reset at the start of the phase
}

func (a *agg) add(s slice) {
	a.signs += s.signs
	a.window += s.window
	a.cpu += s.cpu
	a.clientCPU += s.clientCPU
	a.machine.add(s.machine)
	a.latencies = append(a.latencies, s.latencies...)
	a.rounds = append(a.rounds, float64(s.signs)/s.window.Seconds())
}

func (a *agg) rate() float64 { return float64(a.signs) / a.window.Seconds() }

func (a *agg) cpuPerSign() float64 { return perSign(a.cpu, a.signs) }

// others is the CPU the rest of the machine (other processes: compilers,
// the idle servers) used during the windows, in cores.
func (a *agg) others() float64 {
	return (a.machine.busy - a.cpu - a.clientCPU).Seconds() / a.window.Seconds()
}

func perSign(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

type report struct {
	cfg     config
	servers []*server
	results map[phaseSpec]map[string]*agg
}

func (r report) print(loadBefore, loadAfter string, machine cpuDelta) {
	fmt.Println()
	var windows cpuDelta
	var others, window float64
	for _, res := range r.results {
		for _, a := range res {
			windows.add(a.machine)
			others += a.others() * a.window.Seconds()
			window += a.window.Seconds()
		}
	}
	fmt.Printf("CPU steal: %.1f%% over the measured windows, %.1f%% over the whole comparison; other processes used %.2f cores on average during the windows; load average %s before, %s after\n",
		100*windows.stealShare(), 100*machine.stealShare(), others/window, loadBefore, loadAfter)
	fmt.Print("RSS idle after the first sign:")
	for _, s := range r.servers {
		fmt.Printf(" %s %.1f MiB;", s.name, mib(s.idleRSS))
	}
	fmt.Println()

	var ours []*server
	var dapr *server
	for _, s := range r.servers {
		if s.dapr {
			dapr = s
		} else {
			ours = append(ours, s)
		}
	}
	if dapr != nil {
		for _, o := range ours {
			r.compare(o, dapr)
			r.targets(o, dapr)
		}
	}
	if len(ours) == 2 {
		r.compare(ours[0], ours[1])
	}
	r.details()
}

// compare prints a against b phase by phase: signs/s and their ratio (with
// the range of the per-round ratios), server CPU per sign and its ratio,
// and peak RSS.
func (r report) compare(a, b *server) {
	fmt.Printf("\n%s vs %s (ratio = %s / %s; signs/s: higher is better for %s, CPU: lower is)\n", a.name, b.name, a.name, b.name, a.name)
	head := []string{"pattern", "c", a.name + " signs/s", b.name + " signs/s", "ratio", "per-round ratios",
		a.name + " CPU µs/sign", b.name + " CPU µs/sign", "CPU ratio", a.name + " peak RSS", b.name + " peak RSS"}
	var rows [][]string
	for _, p := range r.cfg.phases {
		x, y := r.results[p][a.name], r.results[p][b.name]
		var rr []float64
		for i := range min(len(x.rounds), len(y.rounds)) {
			if y.rounds[i] > 0 {
				rr = append(rr, x.rounds[i]/y.rounds[i])
			}
		}
		spread := "-"
		if len(rr) > 0 {
			spread = fmt.Sprintf("%.2f–%.2f", slices.Min(rr), slices.Max(rr))
		}
		rows = append(rows, []string{p.pattern(), fmt.Sprint(p.c),
			fmt.Sprintf("%.0f", x.rate()), fmt.Sprintf("%.0f", y.rate()), ratio(x.rate(), y.rate()), spread,
			fmt.Sprintf("%.0f", x.cpuPerSign()), fmt.Sprintf("%.0f", y.cpuPerSign()), ratio(x.cpuPerSign(), y.cpuPerSign()),
			rss(x), rss(y)})
	}
	table(head, rows, 2)
}

// targets prints issue 14 item 2's targets for ours against Dapr's on the
// new-connection-per-sign pattern: server CPU per sign <= 0.6x, signs/s >=
// 1.5x at c=8 and c=64.
func (r report) targets(o, d *server) {
	for _, p := range r.cfg.phases {
		if !p.newConn {
			continue
		}
		x, y := r.results[p][o.name], r.results[p][d.name]
		if y.rate() == 0 || y.cpuPerSign() == 0 {
			continue
		}
		cr, sr := x.cpuPerSign()/y.cpuPerSign(), x.rate()/y.rate()
		fmt.Printf("target, %s, new connection per sign c=%d: CPU/sign %.2f× Dapr's (≤ 0.60×: %s), signs/s %.2f× (≥ 1.50×: %s)\n",
			o.name, p.c, cr, met(cr <= 0.6), sr, met(sr >= 1.5))
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// details prints every server's own figures per phase.
func (r report) details() {
	fmt.Println("\nper server (latency of the call alone, the dial excluded; client = this load generator; others = the rest of the machine):")
	head := []string{"pattern", "c", "server", "signs/s", "p50 ms", "p90 ms", "p99 ms", "server µs/sign", "client µs/sign", "signs", "steal", "others (cores)"}
	var rows [][]string
	for _, p := range r.cfg.phases {
		for _, s := range r.servers {
			a := r.results[p][s.name]
			slices.Sort(a.latencies)
			rows = append(rows, []string{p.pattern(), fmt.Sprint(p.c), s.name, fmt.Sprintf("%.0f", a.rate()),
				fmt.Sprintf("%.3f", ms(pct(a.latencies, 50))), fmt.Sprintf("%.3f", ms(pct(a.latencies, 90))), fmt.Sprintf("%.3f", ms(pct(a.latencies, 99))),
				fmt.Sprintf("%.0f", a.cpuPerSign()), fmt.Sprintf("%.0f", perSign(a.clientCPU, a.signs)), fmt.Sprint(a.signs),
				fmt.Sprintf("%.1f%%", 100*a.machine.stealShare()), fmt.Sprintf("%.2f", a.others())})
		}
	}
	table(head, rows, 3)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func rss(a *agg) string {
	s := fmt.Sprintf("%.1f MiB", mib(a.peakRSS))
	if !a.peakIsPhase {
		s += "*" // since the start: VmHWM could not be reset
	}
	return s
}

// table prints a Markdown table with aligned columns: the first left ones
// text, the others numbers.
func table(head []string, rows [][]string, left int) {
	w := make([]int, len(head))
	for i, h := range head {
		w[i] = len([]rune(h))
	}
	for _, row := range rows {
		for i, c := range row {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			pad := w[i] - len([]rune(c))
			if i < left {
				b.WriteString(" " + c + strings.Repeat(" ", pad) + " |")
			} else {
				b.WriteString(" " + strings.Repeat(" ", pad) + c + " |")
			}
		}
		fmt.Println(b.String())
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", w[i])
	}
	line(sep)
	for _, row := range rows {
		line(row)
	}
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[(len(l)-1)*p/100]
}
