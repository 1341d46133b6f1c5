package injectorproc

import (
	"strconv"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// Options describe one injector process.
type Options struct {
	// Args are the injector's flags; the listen addresses and ports are
	// added (all on 127.0.0.1).
	Args []string
	// Env is added to the test's environment.
	Env []string
}

// Proc is a running injector.
type Proc struct {
	*proc.Proc
	// WebhookPort is the HTTPS webhook's port on 127.0.0.1.
	WebhookPort int
}

// FreePort returns a port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int { return proc.FreePort(t) }

// Launch starts the injector without waiting for it (see proc.Launch).
// port is the webhook port (0 picks one).
func Launch(t testing.TB, bin string, port int, o Options) *Proc {
	t.Helper()
	if port == 0 {
		port = proc.FreePort(t)
	}
	args := append([]string{"--listen-address", "127.0.0.1", "--port", strconv.Itoa(port)}, o.Args...)
	return &Proc{Proc: proc.Launch(t, bin, args, o.Env), WebhookPort: port}
}

// Start launches the injector and waits until /readyz answers 200.
func Start(t testing.TB, bin string, port int, o Options) *Proc {
	t.Helper()
	p := Launch(t, bin, port, o)
	p.WaitReady(t)
	return p
}
