package acl

import (
	"fmt"
	"strings"
)

// Authorizer class names accepted in authorizer.class.name: Kafka's
// ZooKeeper-mode and KRaft authorizers, both served by this package.
var AuthorizerClassNames = []string{
	"kafka.security.authorizer.AclAuthorizer",
	"org.apache.kafka.metadata.authorizer.StandardAuthorizer",
}

// Config is the authorizer's part of server.properties.
type Config struct {
	// SuperUsers are principals allowed everything (super.users,
	// "User:admin;User:broker").
	SuperUsers []string
	// AllowEveryoneIfNoACLFound allows an action on a resource that has no
	// matching ACL at all (allow.everyone.if.no.acl.found, default false).
	AllowEveryoneIfNoACLFound bool
}

// DefaultConfig is Kafka's: no super users, deny when no ACL is found.
func DefaultConfig() Config { return Config{} }

// Validate checks that every super user is a "Type:name" principal.
func (c Config) Validate() error {
	for _, p := range c.SuperUsers {
		if typ, name, ok := strings.Cut(p, ":"); !ok || typ == "" || name == "" {
			return fmt.Errorf("super.users: %q is not a principal (Type:name): %w", p, ErrInvalidConfig)
		}
	}
	return nil
}

// ParseSuperUsers splits super.users at ';' (Kafka's separator), trimming
// spaces and dropping empty entries.
func ParseSuperUsers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// KnownAuthorizer reports whether authorizer.class.name names an authorizer
// this package implements.
func KnownAuthorizer(className string) bool {
	for _, n := range AuthorizerClassNames {
		if n == className {
			return true
		}
	}
	return false
}
