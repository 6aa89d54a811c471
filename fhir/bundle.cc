// implemented by the fhir/ work (issue 2)
