package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// startupRuns starts each kind n times on fresh directories (so that it
// generates its CA), alternating between the kinds in mirrored order, and
// returns the times from exec to the first successful sign. The time is
// noisy on a shared VM (page faults of the binary, fsyncs), hence several
// starts and the median.
func startupRuns(ctx context.Context, ks []kind, n int, root string, pool *csrPool) (map[string][]time.Duration, error) {
	starts := map[string][]time.Duration{}
	for i := range n {
		for _, k := range order(ks, i) {
			s, d, err := start(ctx, k, root, pool)
			if err != nil {
				return nil, err
			}
			s.stop()
			starts[k.name] = append(starts[k.name], d)
		}
	}
	return starts, nil
}

// printStarts prints the median, min and max time to the first sign of each kind.
func printStarts(ks []kind, starts map[string][]time.Duration) {
	for _, k := range ks {
		s := slices.Clone(starts[k.name])
		if len(s) == 0 {
			continue
		}
		slices.Sort(s)
		fmt.Printf("  %-14s median %6.1f ms, min %6.1f, max %6.1f over %d starts\n", k.name, ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]), len(s))
	}
}

// order is ks in round i's order: as given in even rounds, reversed in odd
// ones, so that over every two rounds each kind's mean position in time is
// the same and a linear drift of the machine cancels out.
func order[T any](ks []T, i int) []T {
	o := slices.Clone(ks)
	if i%2 == 1 {
		slices.Reverse(o)
	}
	return o
}
