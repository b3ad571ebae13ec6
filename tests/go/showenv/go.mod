module credproc.test/showenv

go 1.22
