@echo off
rem credproc shell integration for cmd.exe. Save it once and run it in each new console
rem (or from the AutoRun value of HKCU\Software\Microsoft\Command Processor):
rem
rem   credproc shell-init cmd > "%USERPROFILE%\credproc.cmd"
rem
rem credproc-use PROFILE   switch this console to PROFILE's credentials (through `credproc env`)
rem credproc-clear         remove them (and the profile) from this console again
rem
rem cmd.exe has no functions: these are doskey macros. Each runs `credproc env --format cmd` and
rem executes every line it prints (`set "NAME=value"`) in this console. When credproc fails it
rem prints nothing on stdout, so nothing is set.
doskey credproc-use=for /f "usebackq delims=" %%L in (`credproc env --format cmd --profile "$1"`) do @%%L
doskey credproc-clear=for /f "usebackq delims=" %%L in (`credproc env --unset --format cmd`) do @%%L
