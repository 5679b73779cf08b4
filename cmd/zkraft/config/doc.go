// Package config reads Kafka's server.properties for `zkraft serve
// [server.properties] [--override key=value]...`: Java properties syntax,
// Kafka's key names and defaults, and the checks Kafka makes between keys,
// so an operator's files and habits carry over.
//
// Load(path, overrides) parses the file (or, with path "", the embedded
// default in default.properties: one combined broker+controller on
// 127.0.0.1; or, when the overrides set zookeeper.connect and not
// process.roles, the ZooKeeper-mode default in default-zookeeper.properties),
// applies the overrides (later wins), resolves the keys that
// depend on each other (node.id/broker.id, log.retention.ms/minutes/hours,
// log.dirs/log.dir, metadata.log.dir, inter.broker.listener.name) and
// validates the result, then reads the PEM keystores and truststores of
// the TLS listeners (security.go: ssl.* keys, globally or per listener as
// listener.name.<listener>.ssl.*) into Config.ListenerTLS and the client
// side of the inter-broker and controller listeners, and the SASL keys of
// the SASL listeners (sasl.go) into Config.ListenerSASL and, for a SASL
// inter-broker listener, InterBrokerSecurity.SASL. It owns no goroutines
// and does no I/O but reading those files.
//
// Invariants of a returned Config:
//   - Every key given is one zkraft uses (a typed field) or one it knowingly
//     ignores (listed in Config.Ignored; Config.WarnIgnored logs one warning
//     each); any other key is an error naming it. Every key declares where
//     its value goes (keys.go, Destinations), and cmd/zkraft's test checks
//     that it gets there.
//   - Every error names the key(s) and the value, and where the value came
//     from (file and line, or --override #n).
//   - Mode() is "quorum" exactly when process.roles is set; the node's
//     listeners, voters and roles agree (Validate).
//
// The full list of keys, defaults and meanings is docs/configuration.md; a
// test checks that it names every key this package accepts.
package config
