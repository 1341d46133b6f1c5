package annotations

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"true", "Yes", "0", "", "on", "t\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseBool(s)
		norm := strings.ToLower(strings.TrimSpace(s))
		want := norm == "y" || norm == "yes" || norm == "true" || norm == "t" || norm == "on" || norm == "1"
		if got != want {
			t.Fatalf("ParseBool(%q) = %v", s, got)
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "0", "65536", "-5", " 443", "1e3", "0x50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePort(s)
		if err == nil && (p < 1 || p > 65535) {
			t.Fatalf("ParsePort(%q) = %d", s, p)
		}
	})
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"100m", "0.5", "128Mi", "-1", "1e400", "", "9999999999999999999999Ei"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuantity(s)
		if err == nil && q.Sign() < 0 {
			t.Fatalf("ParseQuantity(%q) = %s is negative", s, q.String())
		}
	})
}

func FuzzValidateAppID(f *testing.F) {
	for _, s := range []string{"orders", "", "A", strings.Repeat("a", 59), "a.b", "-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateAppID(s) == nil && len(validation.IsDNS1123Label(s+"-dapr")) > 0 {
			t.Fatalf("ValidateAppID(%q) accepted an invalid id", s)
		}
	})
}

func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{"A=1,B=2", "H=a,b,C=3", "=", ",,,", "A=1,A=2", "X= y ,Y=z=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnv(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range env {
			if len(validation.IsEnvVarName(e.Name)) > 0 || seen[e.Name] {
				t.Fatalf("ParseEnv(%q) returned a bad or repeated name %q", s, e.Name)
			}
			seen[e.Name] = true
		}
	})
}

func FuzzParseEnvFromSecret(f *testing.F) {
	for _, s := range []string{"A=s:k", "A=s", "A=", "A=s:k:j", "A=S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnvFromSecret(s)
		if err != nil {
			return
		}
		for _, e := range env {
			ref := e.ValueFrom.SecretKeyRef
			if len(validation.IsDNS1123Subdomain(ref.Name)) > 0 || len(validation.IsConfigMapKey(ref.Key)) > 0 {
				t.Fatalf("ParseEnvFromSecret(%q) returned an invalid reference %+v", s, ref)
			}
		}
	})
}

func FuzzParseVolumeMounts(f *testing.F) {
	for _, s := range []string{"v:/a", "v:/a,w:/b", "v:a", "v:/a/", ":/", "v:/a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mounts, err := ParseVolumeMounts(s, true)
		if err != nil {
			return
		}
		for _, m := range mounts {
			if !strings.HasPrefix(m.MountPath, "/") || m.Name == "" || !m.ReadOnly {
				t.Fatalf("ParseVolumeMounts(%q) returned %+v", s, m)
			}
		}
	})
}
