package storage

import (
	"container/list"
	"fmt"
	"os"
	"sync"
)

// fileCache is an LRU cache of open file handles keyed by path, bounded by
// Config.MaxOpenFiles. Logs never hold an *os.File: they acquire one for the
// length of a call and release it. A handle that is in use is never closed,
// so the bound may be overshot by the number of concurrent calls; it shrinks
// back as they release.
type fileCache struct {
	max int

	mu    sync.Mutex
	files map[string]*cachedFile
	lru   list.List // of *cachedFile, front = most recently used
}

type cachedFile struct {
	path string
	f    *os.File
	refs int
	elem *list.Element
	gone bool // forgotten while in use: close on last release
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, files: make(map[string]*cachedFile)}
}

// acquire returns an open handle for path, opening it (read-write, created
// when create is set) if needed. The caller must call release exactly once.
func (c *fileCache) acquire(path string, create bool) (*cachedFile, error) {
	c.mu.Lock()
	if cf, ok := c.files[path]; ok {
		cf.refs++
		c.lru.MoveToFront(cf.elem)
		c.mu.Unlock()
		return cf, nil
	}
	c.mu.Unlock()

	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if cf, ok := c.files[path]; ok { // another caller won the race
		_ = f.Close()
		cf.refs++
		c.lru.MoveToFront(cf.elem)
		return cf, nil
	}
	cf := &cachedFile{path: path, f: f, refs: 1}
	cf.elem = c.lru.PushFront(cf)
	c.files[path] = cf
	c.evictLocked()
	return cf, nil
}

// release returns a handle taken by acquire.
func (c *fileCache) release(cf *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.refs == 0 && cf.gone {
		_ = cf.f.Close()
		return
	}
	c.evictLocked()
}

// evictLocked closes least recently used idle handles while over the bound.
func (c *fileCache) evictLocked() {
	for e := c.lru.Back(); e != nil && len(c.files) > c.max; {
		cf := e.Value.(*cachedFile)
		prev := e.Prev()
		if cf.refs == 0 {
			c.lru.Remove(e)
			delete(c.files, cf.path)
			_ = cf.f.Close()
		}
		e = prev
	}
}

// forget closes the handle for path (after its last release, if in use), so
// the file can be deleted or renamed.
func (c *fileCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf, ok := c.files[path]
	if !ok {
		return
	}
	c.lru.Remove(cf.elem)
	delete(c.files, path)
	if cf.refs == 0 {
		_ = cf.f.Close()
	} else {
		cf.gone = true
	}
}

// open reports the number of handles held.
func (c *fileCache) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}

// closeAll closes every idle handle; used by Manager.Close.
func (c *fileCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, cf := range c.files {
		c.lru.Remove(cf.elem)
		delete(c.files, p)
		if cf.refs == 0 {
			_ = cf.f.Close()
		} else {
			cf.gone = true
		}
	}
}

// withFile runs fn with an acquired handle for path.
func (c *fileCache) withFile(path string, create bool, fn func(f *os.File) error) error {
	cf, err := c.acquire(path, create)
	if err != nil {
		return err
	}
	defer c.release(cf)
	return fn(cf.f)
}
