package config

import "go.uber.org/zap"

// WarnIgnored logs one warning per key in c.Ignored: keys the operator set
// that zkraft accepts (Kafka's, so a Kafka file loads) but does nothing
// with. `zkraft serve` calls it once at startup.
func (c *Config) WarnIgnored(logger *zap.Logger) {
	for _, k := range c.Ignored {
		logger.Warn("configuration key accepted but has no effect in zkraft",
			zap.String("key", k), zap.String("value", c.Set[k]))
	}
}
