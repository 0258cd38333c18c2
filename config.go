package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// This file is --config FILE and --print-config.
//
// A config file holds flags: its keys are the long flag names, as written
// on the command line (max-pages = 500, include = ["/docs/"]), and its
// seeds are under urls. parseArgs parses the command line first, then
// configOptions.load gives every flag of the file that the command line did not
// set (pflag's Changed) to fs.Set, each element of a list in turn, so a
// value from the file is converted and checked exactly as the same flag
// on the command line is, and counts as given from then on (demo's
// default --rate, --contact with --user-agent). The file's urls are added
// after the command line's. --print-config writes the settings in effect
// after all of that, as a file that --config reads back to the same.

// configOptions are --config and --print-config.
type configOptions struct {
	file  string // --config: the file to take the flags from
	print string // --print-config: "", or the format to print, toml or yaml

	seeds    []string           // the file's urls
	fromFile map[string]setting // the settings the file gave, by flag name (and urls)
	fs       *pflag.FlagSet     // the flags, for --print-config
}

// addConfigFlags defines --config and --print-config on fs.
func addConfigFlags(fs *pflag.FlagSet, c *configOptions) {
	fs.StringVar(&c.file, "config", "", "take flags from a TOML (.toml) or YAML (.yaml, .yml) `FILE`: keys are the long flag names (max-pages = 500, include = [\"/docs/\"]), seeds go in urls = [...]. A flag on the command line replaces the file's value (a list too); URLs on the command line are crawled with the file's")
	fs.StringVar(&c.print, "print-config", "", "print the settings in effect (defaults, --config file and flags merged) as a config file in `FORMAT` toml, or yaml with --print-config=yaml, and exit. Passwords in URLs are hidden; --cookie and -H values are printed as given")
	fs.Lookup("print-config").NoOptDefVal = "toml"
}

// setting is one key of a config file and its value: a string, int64,
// float64, bool, []any of those, nil (YAML's null) or anything else
// (a table or a date: a wrong type for every flag).
type setting struct {
	key   string
	line  int // 0 when unknown
	value any
	texts []string // the value as flag arguments, once applied
}

// notSettable are the flags a config file cannot set.
var notSettable = []string{"config", "print-config", "help", "version"}

// load reads the --config file, if any, into fs: parseArgs calls it right
// after fs.Parse, before its checks. Errors are one line naming the file,
// the line when known, and the key.
func (c *configOptions) load(fs *pflag.FlagSet, demo bool) error {
	c.fs = fs
	switch c.print {
	case "", "toml", "yaml":
	default:
		return fmt.Errorf("--print-config %q: want toml or yaml", c.print)
	}
	if c.file == "" {
		return nil
	}
	data, err := os.ReadFile(c.file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("--config %s: %v", c.file, err)
	}
	var settings []setting
	switch ext := strings.ToLower(filepath.Ext(c.file)); ext {
	case ".toml":
		settings, err = tomlSettings(data)
	case ".yaml", ".yml":
		settings, err = yamlSettings(data)
	default:
		return fmt.Errorf("--config %s: want a .toml, .yaml or .yml file", c.file)
	}
	if err != nil {
		return c.errorAt(err)
	}
	c.fromFile = map[string]setting{}
	for _, s := range settings {
		if err := c.apply(fs, demo, s); err != nil {
			return c.errorAt(&lineError{s.line, err})
		}
	}
	return nil
}

// apply sets the flag of s, unless the command line set it.
func (c *configOptions) apply(fs *pflag.FlagSet, demo bool, s setting) error {
	if s.value == nil {
		return nil // YAML's "key:" with no value leaves the flag as it is
	}
	if s.key == "urls" {
		texts, err := stringList(s.value)
		if err != nil {
			return fmt.Errorf("urls: %v", err)
		}
		c.seeds, s.texts = texts, texts
		c.fromFile[s.key] = s
		return nil
	}
	f := fs.Lookup(s.key)
	switch {
	case slices.Contains(notSettable, s.key):
		return fmt.Errorf("%s: not a setting: give --%[1]s on the command line", s.key)
	case f == nil:
		return unknownKey(fs, demo, s.key)
	}
	texts, err := flagTexts(f, s.value)
	if err != nil {
		return fmt.Errorf("%s: %v", s.key, err)
	}
	if fs.Changed(s.key) {
		return nil // the command line wins
	}
	if _, isList := f.Value.(pflag.SliceValue); !isList && texts[0] == "" && f.DefValue == "" {
		// "" is this flag's default: leave it unset, as if not given (a
		// --proxy given to demo is refused, --metrics "" is no address).
		return nil
	}
	for _, t := range texts {
		if err := fs.Set(s.key, t); err != nil {
			if cause := errors.Unwrap(err); cause != nil {
				err = cause // without pflag's "invalid argument … for --flag"
			}
			return fmt.Errorf("%s %q: %v", s.key, t, err)
		}
	}
	s.texts = texts
	c.fromFile[s.key] = s
	return nil
}

// unknownKey is the error of a key that names no flag of the command.
func unknownKey(fs *pflag.FlagSet, demo bool, key string) error {
	if len(key) == 1 {
		if f := fs.ShorthandLookup(key); f != nil {
			return fmt.Errorf("unknown key %q: write the long name, %s", key, f.Name)
		}
	}
	other, _ := newFlagSet(!demo)
	switch {
	case other.Lookup(key) == nil || slices.Contains(notSettable, key):
	case demo:
		return fmt.Errorf("unknown key %q: not a flag of trawl demo", key)
	default:
		return fmt.Errorf("unknown key %q: a flag of trawl demo only", key)
	}
	return fmt.Errorf("unknown key %q: keys are the long flag names of trawl --help, and urls", key)
}

// flagTexts turns a config value into the arguments of f: one, or one
// for each element of a list for a repeatable flag. A flag takes a value
// of its type: true or false, an integer, a number; the others (strings,
// durations, sizes, addresses) a string, or an integer written as its
// digits (warc-max-size = -1).
func flagTexts(f *pflag.Flag, v any) ([]string, error) {
	if _, isList := f.Value.(pflag.SliceValue); isList {
		return stringList(v)
	}
	switch t := f.Value.Type(); {
	case t == "bool":
		if b, ok := v.(bool); ok {
			return []string{strconv.FormatBool(b)}, nil
		}
		return nil, fmt.Errorf("want true or false, got %s", describe(v))
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint") || t == "count":
		if n, ok := v.(int64); ok {
			return []string{strconv.FormatInt(n, 10)}, nil
		}
		return nil, fmt.Errorf("want an integer, got %s", describe(v))
	case strings.HasPrefix(t, "float"):
		switch n := v.(type) {
		case int64:
			return []string{strconv.FormatInt(n, 10)}, nil
		case float64:
			return []string{strconv.FormatFloat(n, 'g', -1, 64)}, nil
		}
		return nil, fmt.Errorf("want a number, got %s", describe(v))
	}
	s, ok := scalarText(v)
	if !ok {
		if f.Value.Type() == "duration" {
			return nil, fmt.Errorf("want a duration such as \"30s\", got %s", describe(v))
		}
		return nil, fmt.Errorf("want a string, got %s", describe(v))
	}
	return []string{s}, nil
}

// stringList is the strings of a list value, each a string or an
// integer; a single one is a list of one.
func stringList(v any) ([]string, error) {
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	texts := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalarText(e)
		if !ok {
			in := ""
			if isList {
				in = " in the list"
			}
			return nil, fmt.Errorf("want a list of strings, got %s%s", describe(e), in)
		}
		texts = append(texts, s)
	}
	return texts, nil
}

// scalarText is a string, or an integer's digits.
func scalarText(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case int64:
		return strconv.FormatInt(s, 10), true
	}
	return "", false
}

// describe names the type of a config value, for errors.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", v)
	case int64:
		return fmt.Sprintf("an integer (%d)", v)
	case float64:
		return fmt.Sprintf("a number (%v)", v)
	case bool:
		return fmt.Sprintf("a boolean (%v)", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "a list of tables"
	case yamlOther:
		return string(v)
	}
	return "a date or time"
}

// lineError is an error at a line of the config file (0: unknown).
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }

// errorAt prefixes err with the file and, if err is a *lineError that
// knows it, the line: "crawl.toml:3: scope: …".
func (c *configOptions) errorAt(err error) error {
	where := c.file
	var le *lineError
	if errors.As(err, &le) && le.line > 0 {
		where += ":" + strconv.Itoa(le.line)
	}
	return fmt.Errorf("%s: %s", where, strings.ReplaceAll(err.Error(), "\n", "; "))
}

// flagWord finds a flag's name as a word in an error message.
var flagWord = regexp.MustCompile(`(?:^|[^\w-])(--?[A-Za-z][\w-]*)`)

// blame prefixes err, an error of parseArgs' checks after load, with the
// place in the config file of the first setting it names that came from
// the file: a flag ("--scope \"planet\": …", "-H …"), or one of its
// values ("bad URL \"ftp://x/\": …"), which is then named too
// ("crawl.toml:2: urls: bad URL …"). Errors that name none are returned
// as they are.
func (c *configOptions) blame(err error) error {
	if err == nil || len(c.fromFile) == 0 {
		return err
	}
	msg := err.Error()
	first, at, byValue := "", len(msg), false
	found := func(key string, i int, value bool) {
		if i >= 0 && (i < at || i == at && key < first) {
			first, at, byValue = key, i, value
		}
	}
	for _, m := range flagWord.FindAllStringSubmatchIndex(msg, -1) {
		word := msg[m[2]:m[3]]
		var f *pflag.Flag
		if name, long := strings.CutPrefix(word, "--"); long {
			f = c.fs.Lookup(name)
		} else if len(word) == 2 {
			f = c.fs.ShorthandLookup(word[1:])
		}
		if f != nil {
			if _, ok := c.fromFile[f.Name]; ok {
				found(f.Name, m[2], false)
			}
		}
	}
	for key, s := range c.fromFile {
		for _, t := range s.texts {
			if t != "" {
				found(key, strings.Index(msg, strconv.Quote(t)), true)
			}
		}
	}
	if first == "" {
		return err
	}
	if byValue {
		err = fmt.Errorf("%s: %w", first, err)
	}
	return c.errorAt(&lineError{c.fromFile[first].line, err})
}

// tomlSettings reads the keys of a TOML file, in the file's order.
func tomlSettings(data []byte) ([]setting, error) {
	var m map[string]toml.Primitive
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&m)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &lineError{pe.Position.Line, errors.New(pe.Message)}
		}
		return nil, err
	}
	var settings []setting
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // in a table: the table's own key is refused
		}
		s := setting{key: k[0]}
		// The TOML decoder tells a key's line only in the errors it
		// returns, so the value is taken by an Unmarshaler that fails.
		err := md.PrimitiveDecode(m[k[0]], tomlValue(func(v any) error {
			s.value = v
			return errors.New("taken")
		}))
		var pe toml.ParseError
		if errors.As(err, &pe) {
			s.line = pe.Position.Line
		}
		settings = append(settings, s)
	}
	return settings, nil
}

// tomlValue adapts a func to toml.Unmarshaler.
type tomlValue func(v any) error

func (f tomlValue) UnmarshalTOML(v any) error { return f(v) }

// yamlOther is a YAML value no flag takes, by its description.
type yamlOther string

// yamlLine finds the line in the YAML parser's errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSettings reads the keys of a YAML file, in the file's order.
func yamlSettings(data []byte) ([]setting, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &lineError{line, errors.New(m[2])}
		}
		return nil, errors.New(strings.TrimPrefix(msg, "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &lineError{root.Line, errors.New("want a mapping of flag names to values")}
	}
	var settings []setting
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, &lineError{k.Line, errors.New("a key must be a flag name")}
		}
		if line, dup := seen[k.Value]; dup {
			return nil, &lineError{k.Line, fmt.Errorf("%s: given again (first on line %d)", k.Value, line)}
		}
		seen[k.Value] = k.Line
		value, err := yamlValue(v)
		if err != nil {
			return nil, &lineError{v.Line, fmt.Errorf("%s: %v", k.Value, err)}
		}
		settings = append(settings, setting{key: k.Value, line: k.Line, value: value})
	}
	return settings, nil
}

// yamlValue is the value of n as a setting's value.
func yamlValue(n *yaml.Node) (any, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := yamlValue(e)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		return yamlOther("a mapping"), nil
	case yaml.ScalarNode:
	default:
		return yamlOther("a document"), nil
	}
	var v any
	switch n.ShortTag() {
	case "!!str":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("integer %s out of range", n.Value)
		}
		return i, nil
	case "!!float":
		var f float64
		err := n.Decode(&f)
		v = f
		if err != nil || math.IsNaN(f) {
			v = yamlOther(fmt.Sprintf("a number (%s)", n.Value))
		}
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		v = b
		if err != nil {
			v = yamlOther("a boolean")
		}
	default:
		v = yamlOther(fmt.Sprintf("a %s (%s)", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value))
	}
	return v, nil
}

// printConfig writes the settings of opts for --print-config to stdout,
// and returns the exit code.
func printConfig(stdout, stderr io.Writer, opts *options) int {
	text, err := configText(opts)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: --print-config: %v\n", err)
		return exitFailure
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		fmt.Fprintf(stderr, "trawl: --print-config: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// urlKeys are the settings whose URLs may hold a password that
// --print-config hides.
var urlKeys = []string{"urls", "sitemap", "proxy", "contact", "redis"}

// configText is the config file of the settings in effect: one key per
// flag, in the order of the help, the seeds first under urls. The
// User-Agent that --contact makes is shown as a comment.
func configText(opts *options) (string, error) {
	c := &opts.config
	command := "trawl"
	if opts.demo {
		command = "trawl demo"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The settings of %s: defaults, config file and flags merged.\n", command)
	fmt.Fprintf(&b, "# Use with: %s --config FILE\n", command)
	write := func(key string, value any, comment bool) error {
		if s, ok := value.([]string); ok && slices.Contains(urlKeys, key) {
			value = redactAll(s)
		} else if s, ok := value.(string); ok && slices.Contains(urlKeys, key) {
			value = redactAll([]string{s})[0]
		}
		text, err := encodeSetting(c.print, key, value)
		if comment {
			text = "# " + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n# ") + "\n"
		}
		b.WriteString(text)
		return err
	}
	var err error
	if !opts.demo {
		err = write("urls", slices.Concat([]string{}, opts.seeds), false)
	}
	c.fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || slices.Contains(notSettable, f.Name) {
			return
		}
		value, verr := flagValue(f)
		if verr != nil {
			err = fmt.Errorf("%s: %v", f.Name, verr)
			return
		}
		// --contact wrote its User-Agent into --user-agent: given back,
		// the two would clash.
		derived := f.Name == "user-agent" && c.fs.Lookup("contact").Value.String() != ""
		err = write(f.Name, value, derived)
	})
	return b.String(), err
}

// flagValue is the value of f in a config file: a bool, int64, float64,
// []string or string.
func flagValue(f *pflag.Flag) (any, error) {
	if l, isList := f.Value.(pflag.SliceValue); isList {
		return l.GetSlice(), nil
	}
	s := f.Value.String()
	switch t := f.Value.Type(); {
	case t == "bool":
		return strconv.ParseBool(s)
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint") || t == "count":
		return strconv.ParseInt(s, 10, 64)
	case strings.HasPrefix(t, "float"):
		return strconv.ParseFloat(s, 64)
	}
	return s, nil
}

// encodeSetting is "key = value" in TOML, or "key: value" in YAML, with
// its newline.
func encodeSetting(format, key string, value any) (string, error) {
	m := map[string]any{key: value}
	if format == "yaml" {
		y, err := yaml.Marshal(m)
		return string(y), err
	}
	var b bytes.Buffer
	err := toml.NewEncoder(&b).Encode(m)
	return b.String(), err
}

// redactAll hides the passwords of the URLs in list, as url.Redacted does.
func redactAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				out[i] = u.Redacted()
			}
		}
	}
	return out
}
