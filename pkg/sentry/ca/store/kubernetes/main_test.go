package kubernetes_test

import (
	"maps"
	"testing"

	"go.uber.org/goleak"

	"github.com/trustplane/trustplane/test/envtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAgainstAPIServer runs every scenario against a real kube-apiserver,
// once as an admin and once as a user holding only the Role the store
// documents (Store.Role), which proves that Role is enough; and the Dapr
// scenarios as a user holding only the Role Dapr's chart gives Sentry.
func TestAgainstAPIServer(t *testing.T) {
	env := envtest.Start(t)
	const userName = "sentry-trust-bundle-user"
	userConfig, _ := env.User(t, userName)
	scenarios := storeScenarios()
	maps.Copy(scenarios, watchScenarios())
	maps.Copy(scenarios, jwtScenarios())
	limited := maps.Clone(scenarios)
	maps.Copy(limited, rbacScenarios())
	for identity, set := range map[string]map[string]func(*testing.T, *fixture){
		"as an admin": scenarios,
		"as a user with only the documented Role": limited,
		"as a user with only Dapr's Role":         daprScenarios(),
	} {
		t.Run(identity, func(t *testing.T) {
			for name, run := range set {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					switch identity {
					case "as an admin":
						run(t, newFixture(t, env.Config, nil, ""))
					case "as a user with only Dapr's Role":
						run(t, newDaprFixture(t, env.Config, userConfig, userName))
					default:
						run(t, newFixture(t, env.Config, userConfig, userName))
					}
				})
			}
		})
	}
}
