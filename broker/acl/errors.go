package acl

import "errors"

// ErrInvalidConfig: a Config value Kafka would refuse (prefix "acl: ").
var ErrInvalidConfig = errors.New("acl: invalid config")
