package sample

import (
	"fmt"
	"strconv"
	"strings"
)

// Option is one named option of a sampler, as the command line (a flag of
// the same name) and the notebooks set it from text. Set parses the text
// into the sampler's field; Default is the text of the value used when the
// option is not given.
type Option struct {
	Name, Usage, Default string
	// Bool marks an option that is a switch (a flag without a value).
	Bool bool
	Set  func(text string) error
}

// Configurable is implemented by samplers with options. Options returns them
// bound to the sampler's fields, in the order Configure applies them (an
// option that depends on another comes after it).
type Configurable interface {
	Options() []Option
}

// Options returns the options of s (none if it is not Configurable).
func Options(s Sampler) []Option {
	if c, ok := s.(Configurable); ok {
		return c.Options()
	}
	return nil
}

// Configure sets the options of s named in values, in the order of
// s.Options(). A name s does not have is an error naming the options it has.
func Configure(s Sampler, values map[string]string) error {
	opts := Options(s)
	have := make(map[string]bool, len(opts))
	for _, o := range opts {
		have[o.Name] = true
	}
	for _, k := range sortedKeys(values) {
		if !have[k] {
			names := make([]string, len(opts))
			for i, o := range opts {
				names[i] = o.Name
			}
			list := "it has none"
			if len(names) > 0 {
				list = "its options are " + strings.Join(names, ", ")
			}
			return &OptionError{Sampler: s.Name(), Option: k, Err: fmt.Errorf("does not apply to sampler %s (%s)", s.Name(), list)}
		}
	}
	for _, o := range opts {
		v, ok := values[o.Name]
		if !ok {
			continue
		}
		if err := o.Set(v); err != nil {
			return &OptionError{Sampler: s.Name(), Option: o.Name, Err: err}
		}
	}
	return nil
}

// OptionError reports a sampler option that could not be set or is out of
// range. Option is its name (the command line's flag); Field the Go field
// (Type.Field) and Value its text when the error comes from Prepare.
type OptionError struct {
	Sampler, Option, Field, Value string
	Err                           error
}

func (e *OptionError) Error() string {
	name := e.Field
	if name == "" {
		name = "option " + e.Option
	}
	if e.Value != "" {
		return fmt.Sprintf("sample: %s = %s: %v", name, e.Value, e.Err)
	}
	return fmt.Sprintf("sample: %s: %v", name, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// optionErrorf returns an *OptionError for the field of sampler s that
// option name sets; value (nil: none) is the field's offending value.
func optionErrorf(s Sampler, field, name string, value any, format string, args ...any) error {
	e := &OptionError{Sampler: s.Name(), Option: name, Field: field, Err: fmt.Errorf(format, args...)}
	if value != nil {
		e.Value = fmt.Sprint(value)
	}
	return e
}

// IntOption binds an int field; def is the value a zero field stands for.
// Text is taken literally: "0" is an error where 0 would select def.
func IntOption(p *int, name string, def int, usage string) Option {
	return Option{Name: name, Usage: usage, Default: strconv.Itoa(def), Set: func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		if v == 0 && def != 0 {
			return fmt.Errorf("0: give a value >= 1 (the default is %d)", def)
		}
		*p = v
		return nil
	}}
}

// FloatOption binds a float64 field; def is the value a zero field stands
// for. Text is taken literally: "0" is an error where 0 would select def.
func FloatOption(p *float64, name string, def float64, usage string) Option {
	return Option{Name: name, Usage: usage, Default: strconv.FormatFloat(def, 'g', -1, 64), Set: func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		if v == 0 && def != 0 {
			return fmt.Errorf("0: give a value > 0 (the default is %g)", def)
		}
		*p = v
		return nil
	}}
}

// BoolOption binds a bool field (default false).
func BoolOption(p *bool, name, usage string) Option {
	return Option{Name: name, Usage: usage, Default: "false", Bool: true, Set: func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = v
		return nil
	}}
}

// StringOption binds a string field; def is the value an empty field stands for.
func StringOption(p *string, name, def, usage string) Option {
	return Option{Name: name, Usage: usage, Default: def, Set: func(s string) error {
		*p = s
		return nil
	}}
}
