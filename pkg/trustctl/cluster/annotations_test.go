package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

func TestAnnotations(t *testing.T) {
	a := cluster.Annotations{}
	at := time.Date(2026, 11, 23, 12, 0, 0, 500_000_000, time.UTC)
	a.SetTime("t", at)
	a.SetDuration("d", 90*time.Second)
	a.Set("s", "v")

	got, err := a.Time("t")
	require.NoError(t, err)
	assert.True(t, at.Equal(got), "times keep sub-second precision")
	d, err := a.Duration("d")
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d)

	a.SetTime("t", time.Time{})
	a.SetDuration("d", 0)
	a.Set("s", "")
	assert.Empty(t, a, "zero values remove the annotations")

	missing, err := a.Time("t")
	require.NoError(t, err)
	assert.True(t, missing.IsZero())

	a["bad"] = "soon"
	_, err = a.Time("bad")
	assert.ErrorContains(t, err, "annotation bad")
	_, err = a.Duration("bad")
	assert.ErrorContains(t, err, "annotation bad")
}
