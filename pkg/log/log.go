package log

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Field keys used across trustplane's structured logs.
const (
	KeySPIFFEID  = "spiffe_id"
	KeyNamespace = "namespace"
	KeyAppID     = "app_id"
	KeyValidator = "validator"
	KeySerial    = "serial"
	KeyNotAfter  = "not_after"
	KeyFile      = "file"
	KeyReason    = "reason"
)

// Options configures New.
type Options struct {
	// Level is one of debug, info, warn (or warning), error, fatal. Default info.
	Level string
	// JSON selects Dapr's JSON line format; otherwise a console format.
	JSON bool
	// Scope is the root scope, for example "dapr.sentry".
	Scope string
	// Instance is the host or pod name written as "instance" in JSON mode.
	Instance string
	// Version is the program version written as "ver" in JSON mode.
	Version string
	// Output receives the lines. Default os.Stderr (zapcore.Lock'ed).
	Output zapcore.WriteSyncer
}

// ParseLevel turns a Dapr log level name into a zap level.
func ParseLevel(s string) (zapcore.Level, error) {
	switch s {
	case "", "info":
		return zapcore.InfoLevel, nil
	case "debug":
		return zapcore.DebugLevel, nil
	case "warn", "warning":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	case "fatal":
		return zapcore.FatalLevel, nil
	}
	return 0, fmt.Errorf("log level %q: use debug, info, warn, error or fatal", s)
}

// New builds a logger from opts.
func New(opts Options) (*zap.Logger, error) {
	lvl, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = zapcore.Lock(zapcore.AddSync(os.Stderr))
	}
	enc := zapcore.EncoderConfig{
		TimeKey:        "time",
		LevelKey:       "level",
		NameKey:        "scope",
		MessageKey:     "msg",
		StacktraceKey:  "",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    encodeLevel,
		EncodeTime:     zapcore.TimeEncoderOfLayout(time.RFC3339Nano),
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	}
	var encoder zapcore.Encoder
	var fields []zap.Field
	if opts.JSON {
		encoder = zapcore.NewJSONEncoder(enc)
		fields = []zap.Field{
			zap.String("instance", opts.Instance),
			zap.String("type", "log"),
			zap.String("ver", opts.Version),
		}
	} else {
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	core := zapcore.NewCore(encoder, out, lvl)
	l := zap.New(core).With(fields...)
	if opts.Scope != "" {
		l = l.Named(opts.Scope)
	}
	return l, nil
}

// encodeLevel writes Dapr's level names: "warning" rather than zap's "warn".
func encodeLevel(l zapcore.Level, e zapcore.PrimitiveArrayEncoder) {
	if l == zapcore.WarnLevel {
		e.AppendString("warning")
		return
	}
	e.AppendString(l.String())
}

// Discard returns a logger that writes nothing.
func Discard() *zap.Logger { return zap.NewNop() }
