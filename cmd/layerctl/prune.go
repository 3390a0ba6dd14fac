package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var forceFlag = &cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation"}

var imageCommand = &cli.Command{
	Name:        "image",
	Usage:       "images by Docker's management names (image ls, rm, inspect, ...) and image prune",
	Subcommands: []*cli.Command{imagePruneCommand},
}

var containerCommand = &cli.Command{
	Name:        "container",
	Usage:       "containers by Docker's management names (container ls, rm, run, ...) and container prune",
	Subcommands: []*cli.Command{containerPruneCommand},
}

// pruneAction is what every prune shares: no arguments, Docker's question
// on stderr unless -f (warning says what goes, with or without -a), the
// store opened for run.
func pruneAction(what string, warning func(all bool) string, run func(*cli.Context, *container.Store) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("%s: takes no arguments", what)
		}
		if !c.Bool("force") && !confirm(warning(c.Bool("all"))) {
			return nil
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := run(c, s); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// allFlag is prune's -a.
func allFlag(usage string) cli.Flag {
	return &cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: usage}
}

var imagePruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove the images no container uses that have no name (-a: every one no container uses)",
	Flags: []cli.Flag{forceFlag, allFlag("also images with names")},
	Action: pruneAction("image prune", imagesWarning, func(c *cli.Context, s *container.Store) error {
		removed, freed, err := s.PruneImages(c.Bool("all"))
		printDeleted("Images", removed, printImageRemoval)
		fmt.Printf("Total reclaimed space: %s\n", humanSize(freed))
		return err
	}),
}

func imagesWarning(all bool) string {
	if all {
		return "This will remove all images without at least one container associated to them."
	}
	return "This will remove all dangling images."
}

var containerPruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove every container that is not running (and not mounted)",
	Flags: []cli.Flag{forceFlag},
	Action: pruneAction("container prune", func(bool) string { return "This will remove all stopped containers." },
		func(c *cli.Context, s *container.Store) error {
			removed, err := s.PruneContainers()
			printDeleted("Containers", removed, func(r container.PrunedContainer) { fmt.Println(r.ID) })
			fmt.Printf("Total reclaimed space: %s\n", humanSize(rwSizes(removed)))
			return err
		}),
}

var systemPruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove stopped containers, images without a name no container uses (-a: every unused image), and then unused layers and build cache",
	Flags: []cli.Flag{forceFlag, allFlag("every image no container uses, named or not")},
	Action: pruneAction("system prune", func(all bool) string {
		images := "all dangling images"
		if all {
			images = "all images without at least one container associated to them"
		}
		return "This will remove:\n  - all stopped containers\n  - " + images + "\n  - unused layers and build cache\n"
	}, func(c *cli.Context, s *container.Store) error {
		containers, err := s.PruneContainers()
		printDeleted("Containers", containers, func(r container.PrunedContainer) { fmt.Println(r.ID) })
		if err != nil {
			return err
		}
		images, imagesFreed, err := s.PruneImages(c.Bool("all"))
		printDeleted("Images", images, printImageRemoval)
		if err != nil {
			return err
		}
		// What the containers and images held, and any layer nothing held.
		res, err := s.GC(c.Context)
		fmt.Printf("Total reclaimed space: %s\n", humanSize(rwSizes(containers)+imagesFreed+res.Freed()))
		return err
	}),
}

// printDeleted prints Docker's "Deleted KIND:" block, when anything went.
func printDeleted[T any](kind string, removed []T, print func(T)) {
	if len(removed) == 0 {
		return
	}
	fmt.Printf("Deleted %s:\n", kind)
	for _, r := range removed {
		print(r)
	}
	fmt.Println()
}

func printImageRemoval(r container.ImageRemoval) {
	for _, n := range r.Untagged {
		fmt.Printf("untagged: %s\n", displayName(n))
	}
	fmt.Printf("deleted: %s\n", r.ID)
}

func rwSizes(removed []container.PrunedContainer) int64 {
	var n int64
	for _, r := range removed {
		n += r.RWSize
	}
	return n
}

// confirm asks Docker's question on stderr and reads the answer from stdin:
// only y or yes goes on.
func confirm(warning string) bool {
	fmt.Fprintf(os.Stderr, "WARNING! %s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
