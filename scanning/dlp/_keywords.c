/* Aho-Corasick over the code points of a str: every keyword occurrence in one pass.
 *
 * The DLP classifiers look for about a hundred context words (English, Malay,
 * Indonesian, Thai, Chinese) around candidate numbers. Python's regular
 * expressions try every alternative at every letter; this automaton reads each
 * character once. The automaton (goto, fail, output) is built in Python
 * (scanning/dlp/keywords.py) and handed over as flat integer arrays.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    Py_ssize_t nodes;
    Py_ssize_t *child_start;  /* per node: index of its first edge in edges_cp/edges_to */
    Py_ssize_t *child_count;
    Py_UCS4 *edges_cp;        /* sorted by code point within each node */
    Py_ssize_t *edges_to;
    Py_ssize_t *fail;
    Py_ssize_t *out;          /* keyword index ending at this node, or -1 */
    Py_ssize_t *out_link;     /* next node on the fail chain with an output, or -1 */
    Py_ssize_t root_ascii[128];
} Automaton;

static void automaton_dealloc(Automaton *self) {
    PyMem_Free(self->child_start); PyMem_Free(self->child_count); PyMem_Free(self->edges_cp);
    PyMem_Free(self->edges_to); PyMem_Free(self->fail); PyMem_Free(self->out); PyMem_Free(self->out_link);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int fill(PyObject *seq, Py_ssize_t n, Py_ssize_t **dst) {
    Py_ssize_t i;
    *dst = PyMem_Malloc(sizeof(Py_ssize_t) * (n ? n : 1));
    if (!*dst) { PyErr_NoMemory(); return -1; }
    for (i = 0; i < n; i++) {
        (*dst)[i] = PyLong_AsSsize_t(PyList_GET_ITEM(seq, i));
        if ((*dst)[i] == -1 && PyErr_Occurred()) return -1;
    }
    return 0;
}

static Py_ssize_t step(Automaton *a, Py_ssize_t node, Py_UCS4 c) {
    for (;;) {
        if (node == 0 && c < 128) return a->root_ascii[c];
        Py_ssize_t lo = a->child_start[node], hi = lo + a->child_count[node] - 1;
        while (lo <= hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            if (a->edges_cp[mid] == c) return a->edges_to[mid];
            if (a->edges_cp[mid] < c) lo = mid + 1; else hi = mid - 1;
        }
        if (node == 0) return 0;
        node = a->fail[node];
    }
}

static PyObject *automaton_find(Automaton *self, PyObject *args) {
    PyObject *text, *hits;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    hits = PyList_New(0);
    if (!hits) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text), i, node = 0;
    for (i = 0; i < len; i++) {
        node = step(self, node, PyUnicode_READ(kind, data, i));
        Py_ssize_t o = self->out[node] >= 0 ? node : self->out_link[node];
        while (o >= 0) {
            PyObject *pair = Py_BuildValue("(nn)", i + 1, self->out[o]);  /* (end, keyword index) */
            if (!pair || PyList_Append(hits, pair) < 0) { Py_XDECREF(pair); Py_DECREF(hits); return NULL; }
            Py_DECREF(pair);
            o = self->out_link[o];
        }
    }
    return hits;
}

static PyMethodDef automaton_methods[] = {
    {"find", (PyCFunction)automaton_find, METH_VARARGS, "find(text) -> [(end, keyword index), ...]"},
    {NULL, NULL, 0, NULL}};

static int automaton_init(Automaton *self, PyObject *args, PyObject *kw) {
    PyObject *starts, *counts, *cps, *tos, *fail, *out, *out_link;
    Py_ssize_t i, edges;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!", &PyList_Type, &starts, &PyList_Type, &counts, &PyList_Type,
                          &cps, &PyList_Type, &tos, &PyList_Type, &fail, &PyList_Type, &out, &PyList_Type,
                          &out_link))
        return -1;
    self->nodes = PyList_GET_SIZE(starts);
    edges = PyList_GET_SIZE(cps);
    if (PyList_GET_SIZE(counts) != self->nodes || PyList_GET_SIZE(fail) != self->nodes ||
        PyList_GET_SIZE(out) != self->nodes || PyList_GET_SIZE(out_link) != self->nodes ||
        PyList_GET_SIZE(tos) != edges || self->nodes < 1) {
        PyErr_SetString(PyExc_ValueError, "inconsistent automaton tables");
        return -1;
    }
    if (fill(starts, self->nodes, &self->child_start) < 0 || fill(counts, self->nodes, &self->child_count) < 0 ||
        fill(tos, edges, &self->edges_to) < 0 || fill(fail, self->nodes, &self->fail) < 0 ||
        fill(out, self->nodes, &self->out) < 0 || fill(out_link, self->nodes, &self->out_link) < 0)
        return -1;
    self->edges_cp = PyMem_Malloc(sizeof(Py_UCS4) * (edges ? edges : 1));
    if (!self->edges_cp) { PyErr_NoMemory(); return -1; }
    for (i = 0; i < edges; i++) self->edges_cp[i] = (Py_UCS4)PyLong_AsUnsignedLong(PyList_GET_ITEM(cps, i));
    if (PyErr_Occurred()) return -1;
    for (i = 0; i < 128; i++) {
        Py_ssize_t lo = self->child_start[0], hi = lo + self->child_count[0] - 1, found = 0;
        while (lo <= hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            if (self->edges_cp[mid] == (Py_UCS4)i) { found = self->edges_to[mid]; break; }
            if (self->edges_cp[mid] < (Py_UCS4)i) lo = mid + 1; else hi = mid - 1;
        }
        self->root_ascii[i] = found;
    }
    return 0;
}

static PyTypeObject AutomatonType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "scanning.dlp._keywords.Automaton",
    .tp_basicsize = sizeof(Automaton),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)automaton_init,
    .tp_dealloc = (destructor)automaton_dealloc,
    .tp_methods = automaton_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_keywords", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__keywords(void) {
    PyObject *m;
    if (PyType_Ready(&AutomatonType) < 0) return NULL;
    m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&AutomatonType);
    if (PyModule_AddObject(m, "Automaton", (PyObject *)&AutomatonType) < 0) {
        Py_DECREF(&AutomatonType); Py_DECREF(m); return NULL;
    }
    return m;
}
