package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadOptions says where Load looks. Zero fields mean the real process:
// os.Getenv, os.UserHomeDir and runtime.GOOS; tests inject all three.
type LoadOptions struct {
	// Path is the --config file. Empty means $VULNTUNE_CONFIG, then
	// <user config dir>/vulntune/config.yaml if it exists, then no file.
	Path    string
	Getenv  func(string) string
	HomeDir string
	GOOS    string
	// Environ lists the environment (os.Environ when nil), to find
	// VULNTUNE_* variables nothing reads.
	Environ func() []string
	// OtherEnv names VULNTUNE_* variables that other packages read (the
	// engine's BLAS, allocator, kernel and worker switches), so they are not
	// reported as unknown.
	OtherEnv []string
	// WorkDir resolves relative paths given by a flag or variable
	// (os.Getwd when empty); the file's own folder resolves its paths.
	WorkDir string
}

// ConfigEnv names the environment variable that points at a config file.
const ConfigEnv = "VULNTUNE_CONFIG"

// state is what resolve needs to recompute the effective values.
type state struct {
	plat    platform
	file    string                // config file read, "" if none
	nodes   map[string]*yaml.Node // file values by dotted key
	lines   map[string]int        // line of each key in the file
	env     map[string][2]string  // key → {variable, value}
	flags   map[string]string     // key → value given on the command line
	sources map[string]string     // key → where the effective value came from
}

// Load builds the effective configuration: defaults, then the file, then
// VULNTUNE_* and token variables, each overriding the one before. Flags
// come last through SetFromFlag. Every problem found is reported, each with
// its key and where it came from (file and line, variable or flag).
func Load(opts LoadOptions) (*Config, error) {
	p, err := newPlatform(opts)
	if err != nil {
		return nil, err
	}
	st := &state{plat: p, nodes: map[string]*yaml.Node{}, lines: map[string]int{}, env: map[string][2]string{}, flags: map[string]string{}}
	path, explicit := opts.Path, opts.Path != ""
	if !explicit {
		if path = p.getenv(ConfigEnv); path != "" {
			explicit = true
		} else {
			path = filepath.Join(userConfigDir(p), "vulntune", "config.yaml")
		}
	}
	var errs []error
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		st.file = path
		errs = append(errs, st.parseFile(path, data)...)
	case explicit || !errors.Is(err, fs.ErrNotExist):
		// A missing default file is normal; a named one must exist.
		return nil, &Error{Errs: []error{fmt.Errorf("read config %s: %w", path, err)}}
	}
	for _, s := range specs {
		for _, name := range s.envNames() {
			if v := p.getenv(name); v != "" {
				st.env[s.key] = [2]string{name, v}
				break
			}
		}
	}
	c := &Config{st: st}
	errs = append(errs, c.resolve()...)
	if len(errs) > 0 {
		return nil, &Error{Errs: errs}
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	c.Warnings = unknownEnv(environ(), opts.OtherEnv)
	return c, nil
}

func newPlatform(opts LoadOptions) (platform, error) {
	p := platform{home: opts.HomeDir, goos: opts.GOOS, getenv: opts.Getenv, cwd: opts.WorkDir}
	if p.cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return p, fmt.Errorf("find the working directory for relative paths: %w", err)
		}
		p.cwd = wd
	}
	if p.getenv == nil {
		p.getenv = os.Getenv
	}
	if p.goos == "" {
		p.goos = runtime.GOOS
	}
	if p.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return p, fmt.Errorf("find home directory for config defaults: %w", err)
		}
		p.home = h
	}
	return p, nil
}

// File is the config file that was read, or "" when only defaults and the
// environment apply.
func (c *Config) File() string {
	if c.st == nil {
		return ""
	}
	return c.st.file
}

// SetFromFlag applies a command-line value for a dotted key (the highest
// precedence) and re-resolves. Tokens cannot be set this way: a flag would
// put them in shell history and the process list.
func (c *Config) SetFromFlag(key, value string) error {
	s := lookup(key)
	if s == nil {
		return fmt.Errorf("set %q from a flag: no such setting", key)
	}
	if s.secret {
		return fmt.Errorf("%s can only come from the environment (%s)", key, strings.Join(s.envNames(), " or "))
	}
	if c.st == nil {
		return fmt.Errorf("set %s from a flag: config was not built by Load", key)
	}
	old, had := c.st.flags[key]
	c.st.flags[key] = value
	if errs := c.resolve(); len(errs) > 0 {
		if had {
			c.st.flags[key] = old
		} else {
			delete(c.st.flags, key)
		}
		c.resolve()
		return &Error{Errs: errs}
	}
	return nil
}

// resolve recomputes every field from the recorded layers, in table order,
// so a default may depend on a setting declared before it.
func (c *Config) resolve() []error {
	st := c.st
	st.sources = map[string]string{}
	var errs []error
	bad := map[string]bool{}
	for _, s := range specs {
		ptr := s.field(c)
		reflect.ValueOf(ptr).Elem().SetZero()
		var where string // prefix for errors
		var err error
		relTo := ""
		switch {
		case hasKey(st.flags, s.key):
			flag := s.flag
			if flag == "" {
				flag = s.key
			}
			st.sources[s.key] = "flag:--" + flag
			where = fmt.Sprintf("flag --%s (%s)", flag, s.key)
			err = decodeText(ptr, st.flags[s.key])
			relTo = st.plat.cwd
		case st.env[s.key][0] != "":
			name := st.env[s.key][0]
			st.sources[s.key] = "env:" + name
			where = fmt.Sprintf("environment variable %s (%s)", name, s.key)
			err = decodeText(ptr, st.env[s.key][1])
			relTo = st.plat.cwd
		case st.nodes[s.key] != nil:
			line := st.lines[s.key]
			st.sources[s.key] = fmt.Sprintf("file:%s:%d", st.file, line)
			where = fmt.Sprintf("%s:%d: %s", st.file, line, s.key)
			err = decodeNode(ptr, st.nodes[s.key])
			relTo = filepath.Dir(st.file)
		default:
			st.sources[s.key] = "default"
			where = "default of " + s.key
			def := s.def
			if s.defFn != nil {
				def = s.defFn(c, st.plat)
			}
			err = decodeText(ptr, def)
		}
		if err == nil && (s.path || s.tilde) {
			err = expandPath(ptr.(*string), st.plat.home, relTo, s.path)
		}
		if err == nil && s.check != nil {
			err = s.check(reflect.ValueOf(ptr).Elem().Interface())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			bad[s.key] = true
		}
	}
	// Checks across keys run whatever else is wrong, so every problem is
	// reported at once; each skips only when one of its own keys is bad.
	for _, m := range crossCheck(c, bad) {
		errs = append(errs, errors.New(m))
	}
	return errs
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// expandPath replaces a leading "~" with the home directory and resolves
// relative paths: a file's against the file's folder, so a file means the
// same thing whatever the working directory; a flag's or variable's against
// the working directory, so `config show` and every later chdir-free use
// see the path the user meant.
func expandPath(p *string, home, relTo string, resolve bool) error {
	v := *p
	switch {
	case v == "~":
		v = home
	case strings.HasPrefix(v, "~/"):
		v = filepath.Join(home, v[2:])
	case strings.HasPrefix(v, "~"):
		return fmt.Errorf("~user paths are not supported, got %q; write the full path", v)
	}
	if resolve && relTo != "" && v != "" && !filepath.IsAbs(v) {
		v = filepath.Join(relTo, v)
	}
	*p = v
	return nil
}

// Error is every problem Load or SetFromFlag found. Its message lists them
// one per line; Hint points at the reference.
type Error struct{ Errs []error }

func (e *Error) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Errs }

// Hint names where every key is documented.
func (e *Error) Hint() string {
	return "docs/configuration.md lists every key; `vulntune config show` prints the effective values"
}

// bomless drops a UTF-8 byte-order mark, which some editors write.
func bomless(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\ufeff")) }
