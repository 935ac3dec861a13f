# Every command: the options of its --help (usage and option list, both
# made from the command's option table) are those of its man page's
# SYNOPSIS and OPTIONS, with the same argument names; and within each, the
# usage names every option of the list but --help and --version.
. "$(dirname "$0")/../lib/test-lib.sh"
cat >compare.py <<'EOF'
import re, sys

MACROS = {"Op", "Oo", "Oc", "Nm", "Ar", "Cm", "Fl", "Ns", "It", "Xo", "Xc"}


def mdoc_text(line):
    """An mdoc line as it reads: ".Op Fl c Ar file" -> "-c file"."""
    words, toks, glue, i = [], line.lstrip(".").split(), False, 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t == "Fl" and i < len(toks) and toks[i] not in MACROS:
            t = "-" + toks[i]
            i += 1
        elif t == "Ns":
            glue = True
            continue
        elif t in MACROS:
            continue
        if glue and words:
            words[-1] += t
        else:
            words.append(t)
        glue = False
    return " ".join(words)


def usage_opts(text):
    """{option: argument} of a usage: "[-qv] [--format jsonl | csv]"."""
    opts, cur = {}, None
    for t in text.replace("[", " ").replace("]", " ").split():
        if re.fullmatch(r"-[a-zA-Z]{2,}", t):  # -qv
            opts.update({"-" + ch: [] for ch in t[1:]})
            cur = None
        elif t.startswith("-") and len(t) > 1:
            cur = t
            opts[cur] = []
        elif cur and t != "...":
            opts[cur].append(t)
    return {k: " ".join(v).rstrip(" |") for k, v in opts.items()}


def item_opts(spec):
    """{option: argument} and the names of one option list entry:
    "-c, --config file" or "-c file , --config file"."""
    m = re.fullmatch(r"(-[a-zA-Z]), (--.*)", spec)
    if m:  # --help's "-c, --config file": the argument is shared
        spec = m.group(2) + " , " + m.group(1) + " " + \
            " ".join(m.group(2).split()[1:])
    opts = {}
    for part in spec.split(" , "):
        opts.update(usage_opts(part))
    return opts


def sections(cmd, help_file, man_file):
    """The four lists: help usage and list, man SYNOPSIS and OPTIONS."""
    help_lines = open(help_file).read().split("\n")
    end = help_lines.index("")
    usage = " ".join(help_lines[:end]).replace("usage: " + cmd, "", 1)
    hlist = [re.split(r"  +", l.strip())[0] for l in help_lines
             if re.match(r" +-", l)]
    syn, items, sec = [], [], None
    for line in open(man_file).read().split("\n"):
        if line.startswith(".Sh "):
            sec = line[4:]
        elif sec == "SYNOPSIS" and line.startswith("."):
            syn.append(mdoc_text(line))
        elif sec == "OPTIONS" and line.startswith(".It Fl"):
            items.append(mdoc_text(line))
    return (usage_opts(usage), [item_opts(s) for s in hlist],
            usage_opts(" ".join(syn)), [item_opts(s) for s in items])


def differ(what_a, a, what_b, b):
    for k in sorted(set(a) | set(b)):
        if k not in b:
            yield "%s %s: in %s, not in %s" % (k, a[k], what_a, what_b)
        elif k not in a:
            yield "%s %s: in %s, not in %s" % (k, b[k], what_b, what_a)
        elif a[k] != b[k]:
            yield "%s: argument '%s' in %s, '%s' in %s" % (
                k, a[k], what_a, b[k], what_b)


def unlisted(what_u, usage, what_l, items):
    """An option of the list missing from the usage, or the reverse."""
    names = set().union(*items)
    for item in items:
        if not set(item) & (set(usage) | {"--help", "--version"}):
            yield "%s: in %s, not in %s" % (
                " ".join(sorted(item)), what_l, what_u)
    for k in sorted(set(usage) - names):
        yield "%s: in %s, not in %s" % (k, what_u, what_l)


cmd, help_file, man_file = sys.argv[1:]
usage, hlist, syn, items = sections(cmd, help_file, man_file)
merge = lambda l: {k: v for d in l for k, v in d.items()}
for p in [*differ("--help usage", usage, "SYNOPSIS", syn),
          *differ("--help list", merge(hlist), "OPTIONS", merge(items)),
          *unlisted("--help usage", usage, "--help list", hlist),
          *unlisted("SYNOPSIS", syn, "OPTIONS", items)]:
    print(p)
EOF
n=0
for bin in "$SCEN_BUILD"/bin/*; do
	c=$(basename "$bin")
	n=$((n + 1))
	"$c" --help >help.out 2>&1
	is "$c: --help, SYNOPSIS and OPTIONS of $c.1 list the same options" \
		"$(python3 compare.py "$c" help.out "$SCEN_TOP/man/$c.1" 2>&1)" ""
done
is "all six commands" "$n" 6
done_testing
