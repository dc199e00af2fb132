# Flattens a JSON document into one line per scalar: "path<TAB>value", the path joined with dots (array
# items by index: keys.0.name). Strings are unescaped; control characters in them become spaces so every
# value stays on one line. Compact or pretty-printed input alike. Exits 1 on input that is not JSON.
{ doc = doc $0 "\n" }

END {
  s = doc; n = length(s); p = 1; bad = 0
  ws()
  if (substr(s, p, 1) != "{" && substr(s, p, 1) != "[") exit 1
  value("")
  ws()
  if (bad || p <= n) exit 1
}

function ws() {
  while (p <= n && index(" \t\r\n", substr(s, p, 1))) p++
}

function join(path, key) {
  return path == "" ? key : path "." key
}

function value(path,   c, key, i, start) {
  ws()
  c = substr(s, p, 1)
  if (c == "{") {
    p++; ws()
    if (substr(s, p, 1) == "}") { p++; return }
    while (!bad) {
      ws()
      if (substr(s, p, 1) != "\"") { bad = 1; return }
      key = str(); ws()
      if (substr(s, p, 1) != ":") { bad = 1; return }
      p++
      value(join(path, key)); ws()
      c = substr(s, p, 1); p++
      if (c == "}") return
      if (c != ",") { bad = 1; return }
    }
    return
  }
  if (c == "[") {
    p++; ws()
    if (substr(s, p, 1) == "]") { p++; return }
    for (i = 0; !bad; i++) {
      value(join(path, i)); ws()
      c = substr(s, p, 1); p++
      if (c == "]") return
      if (c != ",") { bad = 1; return }
    }
    return
  }
  if (c == "\"") { print path "\t" str(); return }
  start = p
  while (p <= n && index(",}] \t\r\n", substr(s, p, 1)) == 0) p++
  if (p == start) { bad = 1; return }
  print path "\t" substr(s, start, p - start)
}

function str(   out, c) {
  p++
  out = ""
  while (p <= n) {
    c = substr(s, p, 1); p++
    if (c == "\"") return out
    if (c == "\\") {
      c = substr(s, p, 1); p++
      if (c == "u") { out = out unicode(substr(s, p, 4)); p += 4 }
      else if (c == "n" || c == "r" || c == "t" || c == "b" || c == "f") out = out " "
      else out = out c
    } else if (c == "\t" || c == "\n" || c == "\r") {
      out = out " "
    } else {
      out = out c
    }
  }
  bad = 1
  return out
}

# Printable ASCII escapes decode; anything else becomes "?" (hostnames and key blobs are ASCII).
function unicode(hex,   v, i) {
  v = 0
  for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", tolower(substr(hex, i, 1))) - 1
  return (v >= 32 && v < 127) ? sprintf("%c", v) : "?"
}
