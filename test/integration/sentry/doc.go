// Package sentry runs the real sentry binary in self-hosted mode and
// talks to it over real gRPC and TLS: signing, error codes, validators,
// hot reload of the configuration and of the issuer, refusal of broken
// bundles, and mutual TLS between two workloads holding its certificates.
package sentry
