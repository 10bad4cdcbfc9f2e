# Read a Negoscope CSV export into R with its labels, using base R only.
#
# Unzip the export, then:
#   source("read_negoscope.R")
#   answers <- read_negoscope(".")        # the folder holding data.csv
#   attr(answers$TR1, "label")            # the item text
#   attr(answers$TR1, "labels")           # c("Strongly disagree" = 1, ...)
#   negoscope_factor(answers$TR1)         # an ordered factor with the scale labels
#
# Every column gets attr(x, "label") from variable_labels.csv; each answer column also
# gets attr(x, "labels"), a named vector (label -> value) from value_labels.csv: the
# layout the haven and labelled packages use. Column types come from codebook.csv.
# Blank cells are missing (NA). Text cells that began with = + - @ carry a leading
# apostrophe in the label files, as in every spreadsheet-safe file of the export.

read_negoscope <- function(dir = ".") {
  read_text <- function(name) {
    utils::read.csv(file.path(dir, name), colClasses = "character", check.names = FALSE,
                    na.strings = character(0), encoding = "UTF-8")
  }
  codebook <- read_text("codebook.csv")
  types <- c(integer = "integer", number = "numeric", text = "character")
  classes <- unname(types[codebook$type])
  classes[is.na(classes)] <- "character"
  names(classes) <- codebook$name
  data <- utils::read.csv(file.path(dir, "data.csv"), colClasses = classes,
                          check.names = FALSE, na.strings = "", encoding = "UTF-8")
  variable_labels <- read_text("variable_labels.csv")
  value_labels <- read_text("value_labels.csv")
  for (i in seq_len(nrow(variable_labels))) {
    name <- variable_labels$name[i]
    if (name %in% names(data)) attr(data[[name]], "label") <- variable_labels$label[i]
  }
  for (name in unique(value_labels$name)) {
    if (!name %in% names(data)) next
    rows <- value_labels[value_labels$name == name, ]
    attr(data[[name]], "labels") <- stats::setNames(as.integer(rows$value), rows$label)
  }
  data
}

negoscope_factor <- function(x) {
  labels <- attr(x, "labels")
  factor(x, levels = unname(labels), labels = names(labels), ordered = TRUE)
}
