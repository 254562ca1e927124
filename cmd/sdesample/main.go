// Command sdesample samples from, and computes likelihoods of, score-based
// diffusion models, and prints the schedules that link DDPM to the VP SDE.
//
// Usage:
//
//	sdesample <command> [flags]
//
// Run `sdesample -h` for the list of commands and `sdesample <command> -h` for
// the flags of one. Exit status: 0 on success, 2 on a usage error, 1 on any
// other error, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// usageError marks an error in the command line: the exit status is 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error with a formatted message.
func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// command is one subcommand: its one-line summary and the function that runs it.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// helpOut is where asked-for help goes (-h, help): the run's stdout.
var helpOut io.Writer = os.Stdout

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary, run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first Ctrl-C the run stops at its next step and cleans
		// up; restoring the default lets a second Ctrl-C end it at once.
		<-ctx.Done()
		stop()
	}()
	stopProfile := startProfile(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status. It never
// lets a panic reach the user as a trace.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "sdesample: internal error: %v (please report this with the command line)\n", r)
			code = 1
		}
	}()
	helpOut = stdout
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if args[0] == "help" && len(args) > 1 {
			// sdesample help sample: the command's own flags
			if _, ok := commands[args[1]]; ok {
				return run(ctx, []string{args[1], "-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "sdesample: unknown command %q; run sdesample -h for the list\n", args[1])
			return 2
		}
		printUsage(stdout) // asked for: the answer goes to stdout
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sdesample: unknown command %q; run sdesample -h for the list\n", args[0])
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	return report(stderr, args[0], err)
}

// report prints err as one line and returns the exit status.
func report(stderr io.Writer, name string, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sdesample %s: %s\n", name, ue.msg)
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "sdesample %s: interrupted; no output written\n", name)
		return 130
	}
	fmt.Fprintf(stderr, "sdesample %s: %s\n", name, strings.TrimSpace(err.Error()))
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sdesample <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run sdesample <command> -h (or sdesample help <command>) for the flags of one command")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sdesample "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args into fs and turns flag errors into usage errors. The flag
// package has already printed its own message and the usage for -h.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q; this command takes only flags (see -h)", fs.Arg(0))
	}
	return nil
}

// parseArgs is parse for commands that take arguments after the flags.
func parseArgs(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// -h was asked for: the help goes to stdout, errors to stderr
			fs.SetOutput(helpOut)
			fs.Usage()
			return err
		}
		if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: "); ok {
			return usagef("unknown flag %s; run %s -h for the flags", name, fs.Name())
		}
		return &usageError{err.Error()}
	}
	return nil
}
