// Package fake is a validator.Validator for tests of code that calls one,
// such as Sentry's server: it answers with a fixed identity or a fixed error
// and records the requests it saw.
//
//	v := fake.Granting(id)
//	_, _ = v.Validate(ctx, req)
//	v.Requests() // [req]
package fake
