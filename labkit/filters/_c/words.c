/* labkit.filters._cwords: the tokenizer's hot scans on ASCII text, in C.
 *
 * labkit/filters/tokens.py is the reference: each function here does what a Python
 * function there does (named below), appending the same tokens in the same order to
 * the caller's list.  Only ASCII text is handled; for any other text a function
 * returns False before appending anything, and the caller runs the Python code.
 *
 * On ASCII text the word pattern _WORD3_ASCII needs no regex: split the text at the
 * separator characters, strip the edge characters from both ends of each piece, and
 * keep the pieces of 3 characters or more (a run of non-separators holds at most one
 * match, from its first non-edge character to its last).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* character classes of the ASCII table, as bit flags */
enum {
    C_SEP = 1,       /* splits words: _SEP_ASCII */
    C_EDGE = 2,      /* may not start or end a word: _EDGE */
    C_HOST_END = 4,  /* ends a URL's host: [\s"'<>/?#:)] */
    C_PATH_END = 8,  /* ends a URL's path: [\s"'<>)] */
    C_PW_FIRST = 16, /* may start a path word: [a-z0-9] */
    C_PW_REST = 32   /* may continue one: [a-z0-9_-] */
};

static unsigned char cls[128];
static unsigned char low[128];

static void
set_class(const char *chars, unsigned char flags)
{
    for (; *chars; chars++)
        cls[(unsigned char)*chars] |= flags;
}

static void
init_tables(void)
{
    int c;
    for (c = 0; c < 128; c++)
        low[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    /* what \s matches on ASCII text: \t \n \v \f \r, \x1c-\x1f and space */
    for (c = 0x09; c <= 0x0d; c++)
        cls[c] |= C_SEP | C_HOST_END | C_PATH_END;
    for (c = 0x1c; c <= 0x20; c++)
        cls[c] |= C_SEP | C_HOST_END | C_PATH_END;
    set_class("\"'<>(){}[],;:|*=", C_SEP);
    set_class("'.!?-$%#&+/_\\`~^@", C_EDGE);
    set_class("\"'<>/?#:)", C_HOST_END);
    set_class("\"'<>)", C_PATH_END);
    for (c = 'a'; c <= 'z'; c++)
        cls[c] |= C_PW_FIRST | C_PW_REST;
    for (c = '0'; c <= '9'; c++)
        cls[c] |= C_PW_FIRST | C_PW_REST;
    cls['_'] |= C_PW_REST;
    cls['-'] |= C_PW_REST;
}

/* 1 and the characters when s is ASCII, 0 when it is not, -1 on error */
static int
ascii_chars(PyObject *s, const Py_UCS1 **chars, Py_ssize_t *n)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) /* (a no-op from 3.12 on, and deprecated there) */
        return -1;
#endif
    if (!PyUnicode_IS_ASCII(s))
        return 0;
    *chars = PyUnicode_1BYTE_DATA(s);
    *n = PyUnicode_GET_LENGTH(s);
    return 1;
}

/* a new ASCII str of n characters, to be filled through *buf */
static PyObject *
new_ascii(Py_ssize_t n, Py_UCS1 **buf)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL)
        *buf = PyUnicode_1BYTE_DATA(s);
    return s;
}

static Py_UCS1 *
copy_lower(Py_UCS1 *dst, const Py_UCS1 *src, Py_ssize_t n)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++)
        dst[i] = low[src[i]];
    return dst + n;
}

/* out.append(s), taking over the reference to s (which may be NULL: an error) */
static int
append_new(PyObject *out, PyObject *s)
{
    int r;
    if (s == NULL)
        return -1;
    r = PyList_Append(out, s);
    Py_DECREF(s);
    return r;
}

/* prefix + lower(word) */
static int
append_word(PyObject *out, const Py_UCS1 *prefix, Py_ssize_t np,
            const Py_UCS1 *word, Py_ssize_t nw)
{
    Py_UCS1 *p = NULL;
    PyObject *s = new_ascii(np + nw, &p);
    if (s != NULL) {
        memcpy(p, prefix, (size_t)np);
        copy_lower(p + np, word, nw);
    }
    return append_new(out, s);
}

/* Spans (start, length) of the words found in a text; a few live on the stack. */
#define SPANS_ON_STACK 128
typedef struct {
    Py_ssize_t *v; /* start, length, start, length, ... */
    Py_ssize_t n;  /* spans held */
    Py_ssize_t cap;
    Py_ssize_t stack[2 * SPANS_ON_STACK];
} Spans;

static void
spans_init(Spans *sp)
{
    sp->v = sp->stack;
    sp->n = 0;
    sp->cap = SPANS_ON_STACK;
}

static void
spans_free(Spans *sp)
{
    if (sp->v != sp->stack)
        PyMem_Free(sp->v);
    sp->v = sp->stack;
}

static int
spans_push(Spans *sp, Py_ssize_t start, Py_ssize_t len)
{
    if (sp->n == sp->cap) {
        Py_ssize_t cap = sp->cap * 2;
        Py_ssize_t *v;
        if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)(2 * sizeof(Py_ssize_t))) {
            PyErr_NoMemory();
            return -1;
        }
        if (sp->v == sp->stack) {
            v = PyMem_Malloc((size_t)cap * 2 * sizeof(Py_ssize_t));
            if (v != NULL)
                memcpy(v, sp->stack, sizeof(sp->stack));
        }
        else {
            v = PyMem_Realloc(sp->v, (size_t)cap * 2 * sizeof(Py_ssize_t));
        }
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[2 * sp->n] = start;
    sp->v[2 * sp->n + 1] = len;
    sp->n++;
    return 0;
}

/* _WORD3_ASCII.findall(s): each run of non-separators, stripped of edge characters at
 * both ends, when 3 characters or more remain */
static int
find_words(const Py_UCS1 *s, Py_ssize_t n, Spans *sp)
{
    Py_ssize_t i = 0, a, b;
    while (i < n) {
        while (i < n && (cls[s[i]] & C_SEP))
            i++;
        a = i;
        while (i < n && !(cls[s[i]] & C_SEP))
            i++;
        b = i; /* the run is s[a:b] */
        while (a < b && (cls[s[a]] & C_EDGE))
            a++;
        while (b > a && (cls[s[b - 1]] & C_EDGE))
            b--;
        if (b - a >= 3 && spans_push(sp, a, b - a) < 0)
            return -1;
    }
    return 0;
}

/* The tokens _words appends for the words of s: the words of at most max_word
 * characters, lower-cased and prefixed; with pairs, each two neighbours among them
 * joined by a space; then "skip:<first char> <length//10*10>" for each longer word. */
static int
emit_words(PyObject *out, const Py_UCS1 *s, Py_ssize_t n, const Py_UCS1 *prefix,
           Py_ssize_t np, int pairs, Py_ssize_t max_word)
{
    Spans sp;
    Py_ssize_t i, prev = -1, n_long = 0;
    int r = -1;

    spans_init(&sp);
    if (find_words(s, n, &sp) < 0)
        goto done;
    for (i = 0; i < sp.n; i++) {
        Py_ssize_t len = sp.v[2 * i + 1];
        if (len > max_word) {
            n_long++;
            continue;
        }
        if (append_word(out, prefix, np, s + sp.v[2 * i], len) < 0)
            goto done;
    }
    if (pairs) { /* neighbours in the list of short words (a long one between is skipped) */
        for (i = 0; i < sp.n; i++) {
            Py_ssize_t len = sp.v[2 * i + 1], plen;
            Py_UCS1 *p = NULL;
            PyObject *pair;
            if (len > max_word)
                continue;
            if (prev < 0) {
                prev = i;
                continue;
            }
            plen = sp.v[2 * prev + 1];
            pair = new_ascii(np + plen + 1 + len, &p);
            if (pair != NULL) {
                memcpy(p, prefix, (size_t)np);
                p = copy_lower(p + np, s + sp.v[2 * prev], plen);
                *p++ = ' ';
                copy_lower(p, s + sp.v[2 * i], len);
            }
            if (append_new(out, pair) < 0)
                goto done;
            prev = i;
        }
    }
    for (i = 0; n_long > 0 && i < sp.n; i++) {
        Py_ssize_t len = sp.v[2 * i + 1];
        char num[32];
        int nd;
        Py_UCS1 *p = NULL;
        PyObject *skip;
        if (len <= max_word)
            continue;
        nd = snprintf(num, sizeof(num), "%zd", len / 10 * 10);
        skip = new_ascii(np + 5 + 1 + 1 + nd, &p);
        if (skip != NULL) {
            memcpy(p, prefix, (size_t)np);
            p += np;
            memcpy(p, "skip:", 5);
            p += 5;
            *p++ = low[s[sp.v[2 * i]]];
            *p++ = ' ';
            memcpy(p, num, (size_t)nd);
        }
        if (append_new(out, skip) < 0)
            goto done;
    }
    r = 0;
done:
    spans_free(&sp);
    return r;
}

static int
check_list(PyObject *out)
{
    if (!PyList_CheckExact(out)) {
        PyErr_Format(PyExc_TypeError, "out must be a list, not %.80s", Py_TYPE(out)->tp_name);
        return -1;
    }
    return 0;
}

static int
check_str(PyObject *s, const char *what)
{
    if (!PyUnicode_CheckExact(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.80s", what, Py_TYPE(s)->tp_name);
        return -1;
    }
    return 0;
}

/* a whole number (a bool is refused) */
static int
get_count(PyObject *o, const char *what, Py_ssize_t *v)
{
    if (!PyLong_CheckExact(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.80s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    *v = PyLong_AsSsize_t(o);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

static int
get_flag(PyObject *o, const char *what)
{
    if (!PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a bool, not %.80s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    return o == Py_True;
}

static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want, nargs);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(words_doc,
"words(text, out, prefix, pairs, max_word) -> bool\n\n"
"tokens._words(text, out, prefix, pairs) on ASCII text and prefix (the text is\n"
"lower-cased here). False, with nothing appended, when either is not ASCII.");

static PyObject *
cw_words(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL, *prefix = NULL;
    Py_ssize_t n = 0, np = 0, max_word = 0;
    int pairs, ok;

    if (check_nargs("words", nargs, 5) < 0 || check_str(args[0], "text") < 0
        || check_list(args[1]) < 0 || check_str(args[2], "prefix") < 0)
        return NULL;
    if ((pairs = get_flag(args[3], "pairs")) < 0 || get_count(args[4], "max_word", &max_word) < 0)
        return NULL;
    if ((ok = ascii_chars(args[0], &s, &n)) < 0)
        return NULL;
    if (ok && (ok = ascii_chars(args[2], &prefix, &np)) < 0)
        return NULL;
    if (!ok)
        Py_RETURN_FALSE;
    if (emit_words(args[1], s, n, prefix, np, pairs, max_word) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyDoc_STRVAR(field_words_doc,
"field_words(named, out, max_word) -> bool\n\n"
"tokens._field_words(named, out) when every name and text is ASCII: for each\n"
"(name, text) tuple of the list, the words of the text prefixed with 'name:', long\n"
"ones as skips, no pairs. False, with nothing appended, when one is not ASCII.");

static PyObject *
cw_field_words(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *named, *out;
    Py_ssize_t i, count, max_word = 0, longest = 0;
    Py_UCS1 *prefix = NULL;
    PyObject *result = NULL;

    if (check_nargs("field_words", nargs, 3) < 0)
        return NULL;
    named = args[0];
    out = args[1];
    if (!PyList_CheckExact(named)) {
        PyErr_Format(PyExc_TypeError, "named must be a list, not %.80s", Py_TYPE(named)->tp_name);
        return NULL;
    }
    if (check_list(out) < 0 || get_count(args[2], "max_word", &max_word) < 0)
        return NULL;
    /* all checked first: a non-ASCII field anywhere sends the whole list to Python */
    count = PyList_GET_SIZE(named);
    for (i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(named, i);
        const Py_UCS1 *chars;
        Py_ssize_t n;
        int ok, k;
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "named must hold (name, text) tuples, not %.80s",
                         Py_TYPE(item)->tp_name);
            return NULL;
        }
        for (k = 0; k < 2; k++) {
            PyObject *s = PyTuple_GET_ITEM(item, k);
            if (check_str(s, k ? "a field's text" : "a field's name") < 0)
                return NULL;
            if ((ok = ascii_chars(s, &chars, &n)) < 0)
                return NULL;
            if (!ok)
                Py_RETURN_FALSE;
            if (k == 0 && n > longest)
                longest = n;
        }
    }
    /* one buffer for every "name:" prefix */
    prefix = PyMem_Malloc((size_t)longest + 1);
    if (prefix == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < count; i++) {
        /* (the tuples and their strings are immutable: the checks above still hold; no
         * Python code runs here, so named loses no item, and only the first count items
         * are read even when out is named itself) */
        PyObject *item = PyList_GET_ITEM(named, i);
        const Py_UCS1 *name, *text;
        Py_ssize_t nn, nt;
        name = PyUnicode_1BYTE_DATA(PyTuple_GET_ITEM(item, 0));
        nn = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(item, 0));
        text = PyUnicode_1BYTE_DATA(PyTuple_GET_ITEM(item, 1));
        nt = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(item, 1));
        memcpy(prefix, name, (size_t)nn);
        prefix[nn] = ':';
        if (emit_words(out, text, nt, prefix, nn + 1, 0, max_word) < 0)
            goto done;
    }
    result = Py_True;
    Py_INCREF(result);
done:
    PyMem_Free(prefix);
    return result;
}

/* the position of the first "://" in s[from:n], or -1 */
static Py_ssize_t
find_sep(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t from)
{
    const Py_UCS1 *p;
    if (from < 0)
        from = 0;
    while (from + 3 <= n) {
        p = memchr(s + from, ':', (size_t)(n - 2 - from));
        if (p == NULL)
            return -1;
        from = p - s;
        if (p[1] == '/' && p[2] == '/')
            return from;
        from++;
    }
    return -1;
}

/* s[at:at+len(word)] == word, ASCII letters compared case-blind when caseless */
static int
has_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at, const char *word, int caseless)
{
    Py_ssize_t i, len = (Py_ssize_t)strlen(word);
    if (at + len > n)
        return 0;
    for (i = 0; i < len; i++) {
        Py_UCS1 c = caseless ? low[s[at + i]] : s[at + i];
        if (c != (Py_UCS1)word[i])
            return 0;
    }
    return 1;
}

/* _URL.match(s, start): (?:https?|ftp)://([^\s"'<>/?#:)]+)([^\s"'<>)]*) gives the host
 * s[*host:*path] and the path s[*path:*end]. The three schemes exclude each other here
 * (each needs "://" right after it), so no backtracking is needed. */
static int
match_url(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t start, int caseless,
          Py_ssize_t *host, Py_ssize_t *path, Py_ssize_t *end)
{
    Py_ssize_t i;
    if (has_at(s, n, start, "https://", caseless))
        i = start + 8;
    else if (has_at(s, n, start, "http://", caseless))
        i = start + 7;
    else if (has_at(s, n, start, "ftp://", caseless))
        i = start + 6;
    else
        return 0;
    *host = i;
    while (i < n && !(cls[s[i]] & C_HOST_END))
        i++;
    if (i == *host)
        return 0;
    *path = i;
    while (i < n && !(cls[s[i]] & C_PATH_END))
        i++;
    *end = i;
    return 1;
}

/* "url:path:" + each _PATH_WORD match, [a-z0-9][a-z0-9_-]{2,19}, in the lower-cased path */
static int
emit_path_words(PyObject *out, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    static const Py_UCS1 tag[] = "url:path:";
    Py_ssize_t i = a, j;
    while (i < b) {
        if (!(cls[low[s[i]]] & C_PW_FIRST)) {
            i++;
            continue;
        }
        j = i + 1;
        while (j < b && j - i < 20 && (cls[low[s[j]]] & C_PW_REST))
            j++;
        if (j - i < 3) { /* too short: the next match may start at the next character */
            i++;
            continue;
        }
        if (append_word(out, tag, 9, s + i, j - i) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* The tokens of one URL's host s[a:b]: lower-cased, trailing dots and user info
 * dropped; "url:ip" and "url:<host>" for a numeric one, else "url:" + each of its
 * last parent domains (at most 4 labels, at least 2), longest first. */
static int
emit_host(PyObject *out, const Py_UCS1 *s, Py_ssize_t a, Py_ssize_t b)
{
    static const Py_UCS1 tag[] = "url:";
    Py_ssize_t i, dots[4], nd = 0, digits = 0, j;
    int numeric = 1;

    while (b > a && s[b - 1] == '.')
        b--;
    for (i = b - 1; i >= a; i--) {
        if (s[i] == '@') {
            a = i + 1;
            break;
        }
    }
    for (i = a; i < b; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] != '.') {
            numeric = 0;
            break;
        }
    }
    if (numeric && digits > 0) {
        if (append_new(out, PyUnicode_FromString("url:ip")) < 0)
            return -1;
        return append_word(out, tag, 4, s + a, b - a);
    }
    /* the last 4 dots, from the right: enough to find where the suffixes start */
    for (i = b - 1; i >= a && nd < 4; i--) {
        if (s[i] == '.')
            dots[nd++] = i;
    }
    for (j = nd < 3 ? nd : 3; j >= 1; j--) {
        Py_ssize_t from = j < nd ? dots[j] + 1 : a;
        if (append_word(out, tag, 4, s + from, b - from) < 0)
            return -1;
    }
    return 0;
}

PyDoc_STRVAR(url_tokens_doc,
"url_tokens(text, out, caseless, paths) -> bool\n\n"
"tokens._url_tokens(text, out, url) on ASCII text: caseless=True for url=_URL,\n"
"False for _URL_LOWER; paths is URL_PATHS. False, with nothing appended, when the\n"
"text is not ASCII.");

static PyObject *
cw_url_tokens(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    const Py_UCS1 *s = NULL;
    Py_ssize_t n = 0, k, pos = 0, host = 0, path = 0, end = 0;
    int caseless, paths, ok;

    if (check_nargs("url_tokens", nargs, 4) < 0 || check_str(args[0], "text") < 0
        || check_list(args[1]) < 0)
        return NULL;
    if ((caseless = get_flag(args[2], "caseless")) < 0 || (paths = get_flag(args[3], "paths")) < 0)
        return NULL;
    if ((ok = ascii_chars(args[0], &s, &n)) < 0)
        return NULL;
    if (!ok)
        Py_RETURN_FALSE;
    /* from each "://", the scheme may start 5, 4 or 3 characters before it (tried in
     * that order), never before the end of the previous match */
    k = find_sep(s, n, 0);
    while (k >= 0) {
        Py_ssize_t start;
        int found = 0;
        for (start = k - 5; start <= k - 3; start++) {
            if (start >= pos && match_url(s, n, start, caseless, &host, &path, &end)) {
                found = 1;
                break;
            }
        }
        if (!found) {
            k = find_sep(s, n, k + 1);
            continue;
        }
        pos = end;
        k = find_sep(s, n, pos);
        if (paths && path < end && emit_path_words(args[1], s, path, end) < 0)
            return NULL;
        if (emit_host(args[1], s, host, path) < 0)
            return NULL;
    }
    Py_RETURN_TRUE;
}

/* a header field name's characters: [!-9;-~], printable ASCII but the colon */
static int
name_char(unsigned char c)
{
    return c >= '!' && c <= '~' && c != ':';
}

/* the end of the line starting at p: the position of its "\n", or n */
static Py_ssize_t
line_end(const char *s, Py_ssize_t n, Py_ssize_t p)
{
    const char *nl = p < n ? memchr(s + p, '\n', (size_t)(n - p)) : NULL;
    return nl == NULL ? n : nl - s;
}

PyDoc_STRVAR(header_fields_doc,
"header_fields(head) -> list\n\n"
"tokens._py_folded_fields(head) for a header block with no mbox 'From ' line: the\n"
"(lower-case name, value as written) pairs that _FIELD_STR.findall finds in\n"
"head.decode('latin-1'), i.e. ^([!-9;-~]+)[ \\t]*:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*) per line.");

static PyObject *
cw_header_fields(PyObject *Py_UNUSED(module), PyObject *head)
{
    const char *s;
    Py_ssize_t n, p = 0;
    PyObject *fields;

    if (!PyBytes_CheckExact(head)) {
        PyErr_Format(PyExc_TypeError, "head must be bytes, not %.80s", Py_TYPE(head)->tp_name);
        return NULL;
    }
    s = PyBytes_AS_STRING(head);
    n = PyBytes_GET_SIZE(head);
    fields = PyList_New(0);
    if (fields == NULL)
        return NULL;
    /* each line start (the start, or after a "\n": MULTILINE's ^) may begin a field */
    while (p < n) {
        Py_ssize_t q = p, v, e;
        while (q < n && name_char((unsigned char)s[q]))
            q++;
        v = q;
        while (v < n && (s[v] == ' ' || s[v] == '\t'))
            v++;
        if (q > p && v < n && s[v] == ':') {
            PyObject *name, *value, *pair;
            Py_UCS1 *buf = NULL;
            v++;
            while (v < n && (s[v] == ' ' || s[v] == '\t'))
                v++;
            /* the value runs to the end of its line, and on over each following line
             * that starts with a space or tab (a folded line; "\r" stays in the text) */
            e = line_end(s, n, v);
            while (e + 1 < n && (s[e + 1] == ' ' || s[e + 1] == '\t'))
                e = line_end(s, n, e + 1);
            name = new_ascii(q - p, &buf);
            if (name != NULL)
                copy_lower(buf, (const Py_UCS1 *)s + p, q - p);
            value = PyUnicode_DecodeLatin1(s + v, e - v, NULL);
            pair = name != NULL && value != NULL ? PyTuple_Pack(2, name, value) : NULL;
            Py_XDECREF(name);
            Py_XDECREF(value);
            if (append_new(fields, pair) < 0) {
                Py_DECREF(fields);
                return NULL;
            }
            p = e; /* at the "\n" ending the field, or the end */
        }
        p = line_end(s, n, p) + 1; /* no field here (or one ended): the next line */
    }
    return fields;
}

static PyMethodDef cwords_methods[] = {
    {"words", (PyCFunction)(void (*)(void))cw_words, METH_FASTCALL, words_doc},
    {"field_words", (PyCFunction)(void (*)(void))cw_field_words, METH_FASTCALL, field_words_doc},
    {"url_tokens", (PyCFunction)(void (*)(void))cw_url_tokens, METH_FASTCALL, url_tokens_doc},
    {"header_fields", cw_header_fields, METH_O, header_fields_doc},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef cwords_module = {
    PyModuleDef_HEAD_INIT,
    "_cwords",
    "The tokenizer's word, pair and URL scans on ASCII text (labkit.filters.tokens is\n"
    "the reference; these give the same tokens in the same order).",
    -1,
    cwords_methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__cwords(void)
{
    init_tables();
    return PyModule_Create(&cwords_module);
}
