"""tests/helpers/readme_block.py - the README's walkthrough blocks, for
tests/cli/readme.bats: a fenced block that follows an invisible marker
line `<!-- walkthrough: NAME -->` is the block NAME. The test runs them as
written, so the README cannot drift from the product.

  readme_block.py README NAME             the block's text, as written
  readme_block.py README NAME --commands  its shell commands, one a line:
                                          continuations joined, comments
                                          and blank lines dropped
  readme_block.py README --names          every marked block's name

Exits 2 (with the reason on stderr) when the marker is missing, is not
followed by a fenced block, or a name is marked twice.
"""
import re
import sys

MARK = re.compile(r"^<!-- walkthrough: ([a-z0-9-]+) -->\s*$")


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    found = {}
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            continue
        name = m.group(1)
        if name in found:
            sys.exit(f"{path}:{i + 1}: walkthrough block '{name}' is marked twice")
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or not lines[j].startswith("```"):
            sys.exit(f"{path}:{i + 1}: marker '{name}' is not followed by a fenced block")
        body = []
        for k in range(j + 1, len(lines)):
            if lines[k].startswith("```"):
                break
            body.append(lines[k])
        else:
            sys.exit(f"{path}:{j + 1}: block '{name}' is never closed")
        found[name] = body
    return found


def commands(body):
    out, cur = [], ""
    for line in body:
        if cur:
            line = " " + line.strip()
        if line.endswith("\\"):
            cur += line[:-1].rstrip()
            continue
        cur += line
        # a comment: " # ..." outside quotes (the README's have none inside)
        cur = re.sub(r"\s+#\s.*$", "", cur).rstrip()
        if cur.strip():
            out.append(cur)
        cur = ""
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    found = blocks(args[0])
    if args[1] == "--names":
        print("\n".join(found))
        return
    if args[1] not in found:
        sys.stderr.write(f"{args[0]}: no block marked '<!-- walkthrough: {args[1]} -->'\n")
        sys.exit(2)
    body = found[args[1]]
    print("\n".join(commands(body) if "--commands" in args[2:] else body))


main()
