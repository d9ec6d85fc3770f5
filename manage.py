#!/usr/bin/env python
from kamcrm.__main__ import main

if __name__ == "__main__":
    main()
