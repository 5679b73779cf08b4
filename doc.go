// Package zkraft is the module root. It holds no code of its own: its test,
// imports_test.go, keeps the tree's dependency direction (STYLE.md, "The tree
// is the architecture") true by failing when
//
//   - the metadata package imports any package of this module,
//   - a broker/... package imports quorum, migrate or metadata/zk,
//   - quorum imports a broker/... package,
//
// directly or transitively, in its own code or in its tests.
package zkraft
