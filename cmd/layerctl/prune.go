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

var imagePruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove the images no container uses that have no name (-a: every one no container uses)",
	Flags: []cli.Flag{forceFlag, &cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also images with names"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("image prune: takes no arguments")
		}
		warning := "This will remove all dangling images."
		if c.Bool("all") {
			warning = "This will remove all images without at least one container associated to them."
		}
		if !c.Bool("force") && !confirm(warning) {
			return nil
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		removed, freed, err := s.PruneImages(c.Bool("all"))
		if len(removed) > 0 {
			fmt.Println("Deleted Images:")
			for _, r := range removed {
				for _, n := range r.Untagged {
					fmt.Printf("untagged: %s\n", displayName(n))
				}
				fmt.Printf("deleted: %s\n", r.ID)
			}
			fmt.Println()
		}
		fmt.Printf("Total reclaimed space: %s\n", humanSize(freed))
		if err != nil {
			return fmt.Errorf("image prune: %w", err)
		}
		return nil
	},
}

var containerPruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove every container that is not running (and not mounted)",
	Flags: []cli.Flag{forceFlag},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("container prune: takes no arguments")
		}
		if !c.Bool("force") && !confirm("This will remove all stopped containers.") {
			return nil
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		removed, err := s.PruneContainers()
		var freed int64
		if len(removed) > 0 {
			fmt.Println("Deleted Containers:")
			for _, r := range removed {
				fmt.Println(r.ID)
				freed += r.RWSize
			}
			fmt.Println()
		}
		fmt.Printf("Total reclaimed space: %s\n", humanSize(freed))
		if err != nil {
			return fmt.Errorf("container prune: %w", err)
		}
		return nil
	},
}

var systemPruneCommand = &cli.Command{
	Name:  "prune",
	Usage: "remove stopped containers, images without a name no container uses (-a: every unused image), and then unused layers and build cache",
	Flags: []cli.Flag{forceFlag, &cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every image no container uses, named or not"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("system prune: takes no arguments")
		}
		images := "all dangling images"
		if c.Bool("all") {
			images = "all images without at least one container associated to them"
		}
		warning := "This will remove:\n  - all stopped containers\n  - " + images + "\n  - unused layers and build cache\n"
		if !c.Bool("force") && !confirm(warning) {
			return nil
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		containers, err := s.PruneContainers()
		if len(containers) > 0 {
			fmt.Println("Deleted Containers:")
			for _, r := range containers {
				fmt.Println(r.ID)
			}
			fmt.Println()
		}
		if err != nil {
			return fmt.Errorf("system prune: %w", err)
		}
		removed, imagesFreed, err := s.PruneImages(c.Bool("all"))
		if len(removed) > 0 {
			fmt.Println("Deleted Images:")
			for _, r := range removed {
				for _, n := range r.Untagged {
					fmt.Printf("untagged: %s\n", displayName(n))
				}
				fmt.Printf("deleted: %s\n", r.ID)
			}
			fmt.Println()
		}
		if err != nil {
			return fmt.Errorf("system prune: %w", err)
		}
		// What the containers and images held, and any layer nothing held.
		res, err := s.GC(c.Context)
		fmt.Printf("Total reclaimed space: %s\n", humanSize(rwSizes(containers)+imagesFreed+res.Freed()))
		if err != nil {
			return fmt.Errorf("system prune: %w", err)
		}
		return nil
	},
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
