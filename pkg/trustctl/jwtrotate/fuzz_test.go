package jwtrotate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzStateOf feeds StateOf arbitrary annotations: it must not panic, and a
// state it accepts must survive a round trip through annotate.
func FuzzStateOf(f *testing.F) {
	f.Add("key-added", "2026-01-01T00:00:00Z", "", "1m")
	f.Add("signing-switched", "2026-01-01T00:00:00.5Z", "2026-01-02T00:00:00Z", "1s")
	f.Add("bogus", "yesterday", "", "forever")
	f.Fuzz(func(t *testing.T, phase, added, switched, skew string) {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Annotations: map[string]string{
			AnnotationPhase: phase, AnnotationKeyAddedAt: added, AnnotationSigningSwitchedAt: switched, AnnotationClockSkew: skew,
		}}}
		st, err := StateOf(sec)
		if err != nil {
			return
		}
		out := &corev1.Secret{}
		st.annotate(out)
		again, err := StateOf(out)
		if err != nil {
			t.Fatalf("re-read %+v: %v", st, err)
		}
		if again.Phase != st.Phase || !again.KeyAddedAt.Equal(st.KeyAddedAt) || !again.SigningSwitchedAt.Equal(st.SigningSwitchedAt) {
			t.Fatalf("round trip changed %+v into %+v", st, again)
		}
	})
}
