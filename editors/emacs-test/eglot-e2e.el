;;; eglot-e2e.el --- drive Emacs + eglot (from Debian, not written by this project) against dream-lsp  -*- lexical-binding: t -*-
;;
;; Run by eglot_test.go in `emacs --batch -Q'.  Environment:
;;   DREAM_LSP_BIN       the server (its DREAM_LSP_TEST_ENGINE is inherited from the environment)
;;   DREAM_EGLOT_FILE    the Go file to edit
;;   DREAM_EGLOT_LINES   space-separated 1-based line numbers: for each, in order, put point at the end
;;                       of that line and run `completion-at-point'
;;   DREAM_EGLOT_OUT     folder: the buffer after step I is written to I.txt there, exactly
;; The expected buffers are in eglot_test.go; this script only types.

(require 'package)
;; Debian's elpa-eglot (and the project, xref it needs) live here; -Q skips Debian's start-up files.
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'eglot)

(defun dream-e2e-log (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n") #'external-debugging-output))

;; Emacs 28 has no Go mode: a minimal one, with the tab indentation gofmt uses.
(define-derived-mode go-mode prog-mode "Go"
  (setq-local indent-tabs-mode t)
  (setq-local tab-width 4))

;; dream-lsp loads its engine after initialize and says so in dream/status; a request before that gets
;; no items (as it would for a user), so the steps wait for "ready".
(defvar dream-e2e-state nil)
(cl-defmethod eglot-handle-notification (_server (_method (eql dream/status)) &key state &allow-other-keys)
  (setq dream-e2e-state state))

(let* ((bin (getenv "DREAM_LSP_BIN"))
       (file (getenv "DREAM_EGLOT_FILE"))
       (out (getenv "DREAM_EGLOT_OUT"))
       (lines (mapcar #'string-to-number (split-string (getenv "DREAM_EGLOT_LINES"))))
       (step 0))
  (dream-e2e-log "emacs %s, eglot %s" emacs-version
                 (package-desc-version (cadr (assq 'eglot package-alist))))
  (find-file file)
  (go-mode)
  (eglot '(go-mode) `(transient . ,(file-name-directory file)) 'eglot-lsp-server (list bin "serve") "go")
  (with-timeout (30 (error "eglot did not connect, or no dream/status \"ready\", within 30 s (state %S)" dream-e2e-state))
    (while (not (and (eglot-managed-p) (equal dream-e2e-state "ready")))
      (accept-process-output nil 0.1)))
  (dream-e2e-log "eglot manages %s with %s" (buffer-name) (eglot--project-nickname (eglot-current-server)))
  (dolist (line lines)
    (goto-char (point-min))
    (forward-line (1- line))
    (end-of-line)
    (let ((before (buffer-string)))
      (completion-at-point)
      (when (string= before (buffer-string))
        (dream-e2e-log "step %d (line %d): completion-at-point changed nothing" step line)))
    (let ((coding-system-for-write 'utf-8-unix))
      (write-region (point-min) (point-max) (expand-file-name (format "%d.txt" step) out) nil 'silent))
    (dream-e2e-log "step %d (line %d) done" step line)
    (setq step (1+ step)))
  (eglot-shutdown (eglot-current-server))
  (set-buffer-modified-p nil)
  (kill-emacs 0))
