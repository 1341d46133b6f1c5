package annotations

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestParseBool(t *testing.T) {
	for _, s := range []string{"y", "Y", "yes", "YES", "true", "True", "t", "T", "on", "ON", "1", " true "} {
		assert.True(t, ParseBool(s), "%q is truthy", s)
	}
	for _, s := range []string{"", "n", "no", "false", "0", "off", "2", "truee", "enabled"} {
		assert.False(t, ParseBool(s), "%q is not truthy", s)
	}
}

func TestParsePort(t *testing.T) {
	tests := map[string]struct {
		in   string
		want int32
		ok   bool
	}{
		"a plain port parses":             {"3000", 3000, true},
		"surrounding blanks are ignored":  {" 80 ", 80, true},
		"the highest port parses":         {"65535", 65535, true},
		"zero is rejected":                {"0", 0, false},
		"a port above 65535 is rejected":  {"65536", 0, false},
		"a negative port is rejected":     {"-1", 0, false},
		"a name is rejected":              {"http", 0, false},
		"a huge number does not overflow": {"99999999999999999999", 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePort(tc.in)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseInt32(t *testing.T) {
	n, err := ParseInt32("-1", -1)
	require.NoError(t, err)
	assert.Equal(t, int32(-1), n)
	_, err = ParseInt32("-2", -1)
	assert.ErrorContains(t, err, "at least -1")
	_, err = ParseInt32("2147483648", 0)
	assert.Error(t, err)
	_, err = ParseInt32("1.5", 0)
	assert.Error(t, err)
}

func TestParseQuantity(t *testing.T) {
	q, err := ParseQuantity("128Mi")
	require.NoError(t, err)
	assert.Equal(t, "128Mi", q.String())
	_, err = ParseQuantity("lots")
	assert.ErrorContains(t, err, "not a resource quantity")
	_, err = ParseQuantity("-1")
	assert.ErrorContains(t, err, "negative")
}

func TestValidateAppID(t *testing.T) {
	tests := map[string]struct {
		id string
		ok bool
	}{
		"a lower-case name is valid":                   {"orders", true},
		"digits and inner dashes are valid":            {"order-2", true},
		"58 characters are the most allowed":           {strings.Repeat("a", 58), true},
		"59 characters exceed <id>-dapr's 63":          {strings.Repeat("a", 59), false},
		"upper case is rejected":                       {"Orders", false},
		"a dot is rejected":                            {"orders.v1", false},
		"a leading dash is rejected":                   {"-orders", false},
		"an empty id is rejected":                      {"", false},
		"an underscore is rejected":                    {"order_svc", false},
		"a trailing dash is rejected (SPIFFE segment)": {"orders-", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := ValidateAppID(tc.id)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestNormalizeProtocol(t *testing.T) {
	tests := map[string]struct {
		in   string
		ssl  bool
		want string
		ok   bool
	}{
		"http stays http":            {"http", false, "http", true},
		"ssl upgrades http":          {"http", true, "https", true},
		"ssl upgrades grpc":          {"grpc", true, "grpcs", true},
		"h2c is kept":                {"H2C", false, "h2c", true},
		"an unknown value is not ok": {"ftp", false, "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := NormalizeProtocol(tc.in, tc.ssl)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseEnv(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []corev1.EnvVar
		wantErr string
	}{
		"empty input gives nothing": {in: " "},
		"two vars are split at the comma": {in: "A=1, B=two",
			want: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "two"}}},
		"a comma not followed by NAME= stays in the value": {in: "HOSTS=a,b,c,PORT=1",
			want: []corev1.EnvVar{{Name: "HOSTS", Value: "a,b,c"}, {Name: "PORT", Value: "1"}}},
		"an '=' inside a value is kept": {in: "Q=a=b",
			want: []corev1.EnvVar{{Name: "Q", Value: "a=b"}}},
		"an entry without '=' is rejected": {in: "JUSTANAME", wantErr: "not NAME=value"},
		"a duplicate name is rejected":     {in: "A=1,A=2", wantErr: "set twice"},
		"an empty name is rejected":        {in: "=1", wantErr: "not NAME=value"},
		"a name with a space is rejected":  {in: "A B=1", wantErr: "env var name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseEnv(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseEnvFromSecret(t *testing.T) {
	got, err := ParseEnvFromSecret("DB=db-creds:password,TOKEN=token")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "db-creds", got[0].ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "password", got[0].ValueFrom.SecretKeyRef.Key)
	assert.Equal(t, "token", got[1].ValueFrom.SecretKeyRef.Key, "without :key the key is the secret name")

	_, err = ParseEnvFromSecret("DB=Bad_Name")
	assert.ErrorContains(t, err, "secret name")
	_, err = ParseEnvFromSecret("DB=")
	assert.ErrorContains(t, err, "NAME=secret")
}

func TestParseVolumeMounts(t *testing.T) {
	got, err := ParseVolumeMounts("certs:/etc/certs, data:/data", true)
	require.NoError(t, err)
	assert.Equal(t, []corev1.VolumeMount{
		{Name: "certs", MountPath: "/etc/certs", ReadOnly: true},
		{Name: "data", MountPath: "/data", ReadOnly: true},
	}, got)
	_, err = ParseVolumeMounts("certs:relative", true)
	assert.ErrorContains(t, err, "absolute")
	_, err = ParseVolumeMounts("certs:/a/../b", true)
	assert.ErrorContains(t, err, "clean")
	_, err = ParseVolumeMounts("certs", true)
	assert.ErrorContains(t, err, "volume:/path")
}

func TestMapReadsDefaultsAndErrors(t *testing.T) {
	m := Of(map[string]string{
		KeyGRPCPort:             "x",
		KeyMetricsPort:          "9191",
		KeyEnableMetrics:        "No",
		KeyCPULimit:             "half",
		KeyPlacementHostAddress: ` "p:50005" `,
		KeyEnv:                  "1A=x",
	})
	_, err := m.Port(KeyGRPCPort, 50001)
	var aerr *Error
	require.ErrorAs(t, err, &aerr)
	assert.Equal(t, KeyGRPCPort, aerr.Annotation)
	assert.Equal(t, "x", aerr.Value)
	assert.Contains(t, err.Error(), "dapr.io/grpc-port")

	p, err := m.Port(KeyMetricsPort, 9090)
	require.NoError(t, err)
	assert.Equal(t, int32(9191), p)
	p, err = m.Port(KeyInternalGRPCPort, 50002)
	require.NoError(t, err)
	assert.Equal(t, int32(50002), p, "an absent annotation gives the default")

	assert.False(t, m.Bool(KeyEnableMetrics, true))
	assert.True(t, m.Bool(KeyLogAsJSON, true))
	assert.Nil(t, m.OptionalBool(KeyEnableAPILogging))

	_, err = m.Quantity(KeyCPULimit)
	require.ErrorAs(t, err, &aerr)
	assert.Equal(t, KeyCPULimit, aerr.Annotation)
	q, err := m.Quantity(KeyCPURequest)
	require.NoError(t, err)
	assert.Nil(t, q)

	assert.Equal(t, "p:50005", m.Trimmed(KeyPlacementHostAddress, "default"))
	assert.Equal(t, "d", m.Trimmed(KeySchedulerHostAddress, "d"))

	_, err = m.Env()
	require.ErrorAs(t, err, &aerr)
	assert.Equal(t, KeyEnv, aerr.Annotation)
}

func TestMapAppID(t *testing.T) {
	id, err := Of(nil).AppID("pod-1")
	require.NoError(t, err)
	assert.Equal(t, "pod-1", id, "the pod name is the fallback")

	id, err = Of(map[string]string{KeyAppID: ""}).AppID("pod-1")
	require.NoError(t, err)
	assert.Equal(t, "pod-1", id, "an empty annotation falls back too")

	_, err = Of(nil).AppID("")
	var aerr *Error
	require.ErrorAs(t, err, &aerr)
	assert.Contains(t, aerr.Reason, "no app ID")

	_, err = Of(map[string]string{KeyAppID: "Bad_ID"}).AppID("pod")
	require.ErrorAs(t, err, &aerr)
	assert.Equal(t, KeyAppID, aerr.Annotation)
}

func TestErrorTruncatesLongValues(t *testing.T) {
	err := &Error{Annotation: KeyEnv, Value: strings.Repeat("v", 1000), Reason: "bad"}
	assert.Less(t, len(err.Error()), 200)
	assert.True(t, errors.As(error(err), new(*Error)))
}
