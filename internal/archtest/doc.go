// Package archtest holds the test that keeps coffer's layers apart: it lists
// every package's imports and fails when one crosses a rule of
// docs/ARCHITECTURE.md. It has no code of its own and nobody imports it.
package archtest
