/* Where the numbers are: the spans of a str that can hold a national ID or card number.
 *
 * The candidate pattern (scanning/dlp/classifiers.py) is a Python regular expression that stops at every
 * digit of the text; in mail, most digits are in dates, amounts and phone numbers that can never be an ID.
 * This pass reads each character once and returns the maximal runs of ASCII digits joined by single
 * separators (space, '.', '-') that hold at least ``min_digits`` digits; the pattern then runs on those spans
 * only, with the same result (a candidate is made of digits and single separators, so it lies inside one run).
 * Runs closer than ``merge_gap`` characters come back as one span: one call of the pattern for a line dense
 * with numbers, never one per number (the pattern finds nothing in the gap that the whole text would not).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_SEP(c) ((c) == ' ' || (c) == '.' || (c) == '-')

#define SCAN(TYPE)                                                                       \
    {                                                                                    \
        const TYPE *s = (const TYPE *)data;                                              \
        Py_ssize_t i = 0;                                                                \
        while (i < n) {                                                                  \
            if (!IS_DIGIT(s[i])) { i++; continue; }                                      \
            Py_ssize_t start = i, end = i, digits = 0;                                   \
            while (i < n) {                                                              \
                if (IS_DIGIT(s[i])) { digits++; i++; end = i; continue; }                \
                if (IS_SEP(s[i]) && i + 1 < n && IS_DIGIT(s[i + 1])) { i++; continue; }  \
                break;                                                                   \
            }                                                                            \
            if (digits >= min_digits) {                                                  \
                if (have && start - span_end <= merge_gap) {                             \
                    span_end = end;                                                      \
                } else {                                                                 \
                    if (have && emit(out, span_start, span_end) < 0) goto fail;          \
                    have = 1; span_start = start; span_end = end;                        \
                }                                                                        \
            }                                                                            \
        }                                                                                \
    }

static int emit(PyObject *out, Py_ssize_t start, Py_ssize_t end) {
    PyObject *span = Py_BuildValue("(nn)", start, end);
    if (!span) return -1;
    int rc = PyList_Append(out, span);
    Py_DECREF(span);
    return rc;
}

static PyObject *number_runs(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t min_digits, merge_gap = 0, span_start = 0, span_end = 0;
    int have = 0;
    if (!PyArg_ParseTuple(args, "Un|n", &text, &min_digits, &merge_gap)) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND: SCAN(Py_UCS1) break;
    case PyUnicode_2BYTE_KIND: SCAN(Py_UCS2) break;
    default: SCAN(Py_UCS4) break;
    }
    if (have && emit(out, span_start, span_end) < 0) goto fail;
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"number_runs", number_runs, METH_VARARGS,
     "number_runs(text, min_digits[, merge_gap]) -> [(start, end)]: runs of digits joined by single separators."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_runs", NULL, -1, methods};

PyMODINIT_FUNC PyInit__runs(void) { return PyModule_Create(&module); }
